"""/api/docs in a real headless Chromium with no network: the page renders every operation from its own files.

Chromium resolves no host name but loopback's (`--host-resolver-rules`), so a page
that reached for a CDN would stay blank; the page's strict Content-Security-Policy
would also refuse any script, style or fetch not from the API's own origin, and
Chromium reports each refusal on its console, which the test reads.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from shared.web.endpoints import ENDPOINTS
from tests.support import CHROMIUM, headless_chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (devtools/ensure-system-packages.sh installs it)"
    ),
]


def _chromium(url: str, *extra: str) -> tuple[str, str]:
    """Run headless Chromium on `url` with no network but loopback; its stdout and stderr."""
    out, err, _ = headless_chromium(
        url,
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",
        *extra,
        timeout=60,
    )
    return out, err


@pytest.fixture(name="docs_url")
def _docs_url(serve: Any) -> str:
    """The docs page of an `api` process on loopback."""
    return serve("api").url + "/api/docs"


def test_the_page_renders_every_operation_offline(docs_url: str) -> None:
    """Swagger UI, served by the deployment itself, lists every documented operation with no network at all."""
    dom, console = _chromium(docs_url, "--dump-dom")
    rendered = set(re.findall(r'class="opblock opblock-(\w+)[^"]*" id="operations-[^"]*"', dom))
    assert rendered, f"Swagger UI rendered no operation: {dom[-1500:]} {console[-1500:]}"
    paths = set(re.findall(r'data-path="([^"]+)"', dom))
    expected = {e.path for e in ENDPOINTS if e.path}
    assert paths == expected, (paths, expected)
    assert "Content Security Policy" not in console, console[-3000:]


def test_the_page_forbids_other_origins_and_framing(docs_url: str) -> None:
    """The page's CSP: nothing by default, scripts, styles and fetches only from itself, never in a frame."""
    with urllib.request.urlopen(docs_url, timeout=10) as response:  # noqa: S310 - loopback only
        policy = dict(
            directive.strip().split(" ", 1) for directive in response.headers["Content-Security-Policy"].split(";")
        )
        page = response.read().decode()
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "http" not in re.sub(r"<a [^>]*>", "", page), "the page loads nothing by absolute URL"
    assert "<script>" not in page and "style=" not in page, "no inline script or style for the CSP to refuse"


def test_a_screenshot_shows_the_operations(docs_url: str, tmp_path: Path) -> None:
    """The rendered page is not blank: the screenshot has many colours (Swagger UI's coloured method badges)."""
    shot = tmp_path / "docs.png"
    _chromium(docs_url, f"--screenshot={shot}", "--window-size=1200,2400")
    assert shot.exists() and shot.stat().st_size > 20_000, "a blank page compresses to almost nothing"
