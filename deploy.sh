#!/usr/bin/env bash
# Deploys Tweet Capture API to Cloud Functions (2nd gen) with everything it needs.
# The work is done by the deploy program, tools/deploy (standard library Python
# over the gcloud CLI); this wrapper finds a Python 3.11 or newer and runs it from
# the repository root with the same arguments. ./deploy.sh --help lists the flags;
# docs/deployment.md explains each step.
set -euo pipefail

# The newest suitable interpreter on PATH, or nothing.
find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      printf '%s' "$candidate"
      return 0
    fi
  done
  return 1
}

main() {
  local python
  if ! python=$(find_python); then
    printf '%s\n' "deploy.sh: error: Python 3.11 or newer is needed (https://www.python.org/downloads/)" >&2
    exit 1
  fi
  # Deploy from the repository root, whatever the caller's directory: --source=.
  # uploads it, filtered by .gcloudignore.
  cd "$(dirname "${BASH_SOURCE[0]}")"
  exec "$python" -m tools.deploy "$@"
}

main "$@"
