#!/usr/bin/env bash
# Install the Debian tools the test suite uses (shellcheck, chromium) when they are missing.
# Best effort: a test whose tool is still missing skips with a clear reason.
set -uo pipefail
missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "note: cannot install ${missing[*]} (not root); the tests that need them will skip" >&2
  exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing ${missing[*]} from Debian's packages..." >&2
$SUDO apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || echo "note: could not install ${missing[*]}; the tests that need them will skip" >&2
exit 0
