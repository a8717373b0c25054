"""A real headless Chromium calls `capture` cross-origin: the browser, not us, enforces CORS.

A page served from http://localhost:<port> fetches the capture endpoint (on
127.0.0.1, so cross-origin) with a Bearer token and a JSON body, which makes
Chromium send a real preflight first; the page writes what it could read into
the DOM, and `chromium --dump-dom` hands that DOM back.
"""

from __future__ import annotations

import html
import json
import re
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devtools.server import FunctionServer, running
from tests.support import CHROMIUM, STRONG_PASSWORD, Emulators, headless_chromium, new_email, server_env, tweet_body

PINNED_EXTENSION = "chrome-extension://" + "abcdefghijklmnop" * 2

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (devtools/ensure-system-packages.sh installs it)"
    ),
]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>capture</title></head>
<body><pre id="result">pending</pre>
<script>
const call = __CALL__;
fetch(call.url, {
  method: "POST",
  headers: {"Authorization": "Bearer " + call.token, "Content-Type": "application/json"},
  body: JSON.stringify(call.tweet),
})
  .then(async (response) => ({status: response.status, body: await response.json()}))
  .catch((error) => ({error: String(error)}))
  .then((result) => { document.getElementById("result").textContent = JSON.stringify(result); });
</script></body></html>
"""


class PageHost:
    """A tiny threaded HTTP server on 127.0.0.1 that serves registered pages as http://localhost:<port>."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        try:
            self.server = ThreadingHTTPServer(("127.0.0.1", 3000), Handler)
        except OSError:
            self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        """The origin of the pages; `localhost`, the name a dev page really has."""
        return f"http://localhost:{self.port}"

    def publish(self, html_text: str) -> str:
        """Serve `html_text` at a fresh path; its URL."""
        path = f"/{uuid.uuid4().hex}.html"
        self.pages[path] = html_text.encode("utf-8")
        return self.origin + path

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module", name="page_host")
def _page_host() -> Iterator[PageHost]:
    """The web server of the calling pages."""
    host = PageHost()
    yield host
    host.close()


@pytest.fixture(scope="module", name="servers")
def _servers(emulators: Emulators, page_host: PageHost) -> Iterator[dict[str, FunctionServer]]:
    """`capture` and `api` admitting the page's origin, and a `capture` admitting one extension only."""
    servers = {
        "capture": FunctionServer("capture", server_env(emulators, ALLOWED_ORIGINS=page_host.origin)),
        "api": FunctionServer("api", server_env(emulators, ALLOWED_ORIGINS=page_host.origin)),
        "pinned": FunctionServer("capture", server_env(emulators, ALLOWED_ORIGINS=PINNED_EXTENSION)),
    }
    with running(servers.values()):
        yield servers


@pytest.fixture(scope="module", name="access_token")
def _access_token(servers: dict[str, FunctionServer]) -> str:
    """An access token of a fresh account, registered through the `api` process."""
    request = urllib.request.Request(  # noqa: S310 - loopback only
        servers["api"].url + "/api/auth/register",
        data=json.dumps({"email": new_email(), "password": STRONG_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        return json.load(response)["accessToken"]


def _capture_page(url: str, token: str, tweet: dict[str, Any]) -> str:
    call = json.dumps({"url": url, "token": token, "tweet": tweet}).replace("</", "<\\/")
    return PAGE.replace("__CALL__", call)


def _run_page(url: str) -> dict[str, Any]:
    """Open `url` in a fresh headless Chromium profile; what the page wrote into #result."""
    dom, errors, status = headless_chromium(url, "--virtual-time-budget=10000", "--dump-dom")
    match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.DOTALL)
    assert match, f"no result in the dumped DOM (exit {status}): {dom[-2000:]} {errors[-2000:]}"
    text = html.unescape(match[1])
    assert text != "pending", "the page's fetch never settled"
    return json.loads(text)


def _browser_requests(server: FunctionServer, since: int) -> list[dict[str, Any]]:
    """The access-log `httpRequest` entries Chromium caused after offset `since` of the server's output."""
    entries = []
    for line in server.output()[since:].splitlines():
        if not line.startswith("{"):
            continue
        request = json.loads(line).get("httpRequest")
        if request and "HeadlessChrome" in request.get("userAgent", ""):
            entries.append(request)
    return entries


@pytest.mark.parametrize(("name", "path"), [("capture", "/"), ("api", "/api/tweets/capture")])
def test_admitted_page_reads_the_capture_answer(
    page_host: PageHost, servers: dict[str, FunctionServer], access_token: str, name: str, path: str
) -> None:
    """A page on an admitted origin gets through Chromium's preflight and reads 200 `published`."""
    server = servers[name]
    since = len(server.output())
    tweet = tweet_body()
    result = _run_page(page_host.publish(_capture_page(server.url + path, access_token, tweet)))
    assert result.get("status") == 200, result
    assert result["body"]["status"] == "published"
    assert result["body"]["tweetId"] == tweet["tweetId"]
    seen = [(r["requestMethod"], r["status"]) for r in _browser_requests(server, since)]
    assert seen == [("OPTIONS", 204), ("POST", 200)]


def test_page_on_origin_not_admitted_is_blocked_by_the_browser(
    page_host: PageHost, servers: dict[str, FunctionServer], access_token: str
) -> None:
    """With only one extension admitted, a localhost page's fetch rejects and the POST is never sent."""
    server = servers["pinned"]
    since = len(server.output())
    result = _run_page(page_host.publish(_capture_page(server.url + "/", access_token, tweet_body())))
    assert "status" not in result, result
    assert "TypeError" in result["error"]
    seen = [(r["requestMethod"], r["status"]) for r in _browser_requests(server, since)]
    assert seen == [("OPTIONS", 204)]
