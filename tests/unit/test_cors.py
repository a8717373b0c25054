"""Which origins CORS admits, and the headers an admitted or refused origin gets."""

from __future__ import annotations

import pytest

from shared.config import DEFAULT_ALLOWED_ORIGINS
from shared.web.cors import cors_headers, origin_allowed, preflight_headers

DEFAULTS = tuple(DEFAULT_ALLOWED_ORIGINS.split(","))
EXTENSION = "chrome-extension://" + "abcdefghijklmnop" * 2
OTHER_EXTENSION = "chrome-extension://" + "ponmlkjihgfedcba" * 2


@pytest.mark.parametrize(
    ("origin", "patterns", "admitted"),
    [
        # The wildcard admits any well-formed extension id: 32 letters a-p, as Chromium makes them.
        (EXTENSION, DEFAULTS, True),
        (OTHER_EXTENSION, DEFAULTS, True),
        ("chrome-extension://" + "a" * 32, ("chrome-extension://*",), True),
        ("http://localhost:3000", DEFAULTS, True),
        # An exact extension origin pins that one extension.
        (EXTENSION, (EXTENSION,), True),
        (OTHER_EXTENSION, (EXTENSION,), False),
        # Look-alikes: an Origin header never has a path, and extension ids have no dots,
        # ports, other letters or other lengths, so none of these came from an extension.
        (EXTENSION + "/evil", DEFAULTS, False),
        (EXTENSION + ".evil.com", DEFAULTS, False),
        (EXTENSION + ":443", DEFAULTS, False),
        ("chrome-extension://abc", DEFAULTS, False),
        ("chrome-extension://abc/evil", DEFAULTS, False),
        ("chrome-extension://abc.evil.com", DEFAULTS, False),
        ("chrome-extension://" + "z" * 32, DEFAULTS, False),
        ("chrome-extension://" + "a" * 33, DEFAULTS, False),
        ("chrome-extension://", DEFAULTS, False),
        ("chrome-extension://*", DEFAULTS, False),
        ("https://chrome-extension://" + "a" * 32, DEFAULTS, False),
        ("https://chrome-extension://", DEFAULTS, False),
        ("moz-extension://" + "a" * 32, DEFAULTS, False),
        ("http://localhost:3000/", DEFAULTS, False),
        ("http://localhost:30000", DEFAULTS, False),
        ("http://localhost:3000.evil.com", DEFAULTS, False),
        ("http://localhost", DEFAULTS, False),
        ("https://localhost:3000", DEFAULTS, False),
        (" http://localhost:3000", DEFAULTS, False),
        ("http://evil.example", DEFAULTS, False),
        # Browsers serialise origins in lower case, so an upper-case variant is not the admitted origin.
        ("HTTP://LOCALHOST:3000", DEFAULTS, False),
        ("CHROME-EXTENSION://" + "a" * 32, DEFAULTS, False),
        ("chrome-extension://" + "A" * 32, DEFAULTS, False),
        # Opaque and missing origins are never admitted, not even by `*`.
        ("null", DEFAULTS, False),
        ("null", ("*",), False),
        ("null", ("null",), False),
        ("", DEFAULTS, False),
        ("", ("*",), False),
        (None, DEFAULTS, False),
        # `*` admits every real origin; no patterns admit nothing.
        ("https://anything.example", ("*",), True),
        (EXTENSION, ("*",), True),
        (EXTENSION, (), False),
        # Another scheme's wildcard admits any host of that scheme only.
        ("https://app.example.com", ("https://*",), True),
        ("https://app.example.com:8443", ("https://*",), True),
        ("https://app.example.com/x", ("https://*",), False),
        ("http://app.example.com", ("https://*",), False),
    ],
)
def test_origin_allowed(origin: str | None, patterns: tuple[str, ...], admitted: bool) -> None:
    """An origin is admitted exactly when a configured pattern matches it."""
    assert origin_allowed(origin, patterns) is admitted


def test_cors_headers_for_admitted_origin() -> None:
    """An admitted origin is echoed, with the headers a client may read, and Vary: Origin."""
    headers = cors_headers(EXTENSION, DEFAULTS)
    assert headers["Access-Control-Allow-Origin"] == EXTENSION
    assert {"Retry-After", "WWW-Authenticate"} <= {
        h.strip() for h in headers["Access-Control-Expose-Headers"].split(",")
    }
    assert headers["Vary"] == "Origin"


@pytest.mark.parametrize("origin", [None, "", "null", "https://evil.example", OTHER_EXTENSION])
def test_cors_headers_for_refused_origin(origin: str | None) -> None:
    """A refused or missing origin gets only Vary: Origin, so caches keep answers apart."""
    assert cors_headers(origin, (EXTENSION,)) == {"Vary": "Origin"}


def test_preflight_headers_for_admitted_origin() -> None:
    """A preflight from an admitted origin names the methods, the headers and how long to cache."""
    headers = preflight_headers(EXTENSION, DEFAULTS, ("POST",))
    assert headers["Access-Control-Allow-Origin"] == EXTENSION
    assert {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")} == {"POST", "OPTIONS"}
    assert {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")} >= {
        "authorization",
        "content-type",
    }
    assert int(headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in headers["Vary"]


def test_preflight_headers_for_refused_origin() -> None:
    """A preflight from a refused origin gets no Access-Control-* header at all."""
    headers = preflight_headers("https://evil.example", DEFAULTS, ("POST",))
    assert not [name for name in headers if name.lower().startswith("access-control-")]
