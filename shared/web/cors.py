"""CORS for the Chrome extension: which origins are admitted, and the headers they get.

`chrome-extension://*` admits any extension id (32 letters a-p, the only ids Chromium
makes); an exact origin admits only itself, compared exactly as browsers send it;
`*` admits every origin. An origin not admitted gets no CORS headers at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ALLOWED_HEADERS = "Authorization, Content-Type"
EXPOSED_HEADERS = "Retry-After, WWW-Authenticate"
MAX_AGE_SECONDS = 3600
_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?")
_EXTENSION_ID = re.compile(r"[a-p]{32}")


def origin_allowed(origin: str | None, patterns: Iterable[str]) -> bool:
    """Whether `origin` matches one of the configured origin patterns."""
    if not origin or origin == "null":
        return False
    for pattern in patterns:
        if pattern == "*":
            return True
        if pattern.endswith("://*"):
            # A wildcard matches well-formed origins only, never its own literal text.
            scheme = pattern[: -len("*")]
            rest = origin[len(scheme) :]
            shape = _EXTENSION_ID if scheme == "chrome-extension://" else _HOST
            if origin.startswith(scheme) and shape.fullmatch(rest):
                return True
        elif pattern == origin:
            return True
    return False


def cors_headers(origin: str | None, patterns: Iterable[str]) -> dict[str, str]:
    """Headers every response carries: Vary always, the rest only for an admitted origin."""
    headers = {"Vary": "Origin"}
    if origin_allowed(origin, patterns):
        headers["Access-Control-Allow-Origin"] = origin  # type: ignore[assignment]
        headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return headers


def preflight_headers(origin: str | None, patterns: Iterable[str], methods: Iterable[str]) -> dict[str, str]:
    """Headers of a 204 answer to an OPTIONS preflight."""
    headers = {"Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
    if origin_allowed(origin, patterns):
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,  # type: ignore[dict-item]
                "Access-Control-Allow-Methods": ", ".join((*methods, "OPTIONS")),
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
            }
        )
    return headers
