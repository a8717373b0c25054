"""The archive tool's HTTP client and import loop against a scripted loopback server.

The real API cannot be made to drop a connection, answer 503 or rotate a token on
cue; a tiny stdlib HTTP server that plays back a script of answers can. The tool
against the real functions and emulators is tested in tests/e2e/test_archive.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devtools.emulators import free_port
from devtools.server import ROOT
from tools.archive.client import Api, ApiError
from tools.archive.importer import BudgetExhausted, import_archive
from tools.archive.synthetic import write_archive

Answer = tuple[int, dict[str, str], Any] | Callable[[dict[str, Any]], Any] | str


class Script:
    """Answers per path, played in order (the last one repeats); every request is recorded."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.requests: list[dict[str, Any]] = []

    def on(self, path: str, *answers: Answer) -> Script:
        """Answer requests for PATH with ANSWERS, in order."""
        self.answers[path] = list(answers)
        return self

    def next(self, path: str) -> Answer:
        """The answer to the next request for PATH."""
        queue = self.answers.get(path) or [(404, {}, {"title": "Not Found", "status": 404, "detail": path})]
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture(name="script")
def _script() -> Iterator[tuple[Script, str]]:
    """A scripted API on a free loopback port, and its base URL."""
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            request = {
                "method": self.command,
                "path": self.path,
                "body": body,
                "auth": self.headers.get("Authorization"),
            }
            script.requests.append(request)
            answer = script.next(self.path.split("?")[0])
            if answer == "drop":  # the connection dies before any answer
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, headers, payload = answer(request) if callable(answer) else answer
            data = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield script, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def tokens(n: int) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A login or refresh answer carrying generation N of both tokens."""
    return 200, {}, {"accessToken": f"access-{n}", "refreshToken": f"refresh-{n}", "expiresIn": 3600}


UNAUTHORIZED = (401, {}, {"title": "Unauthorized", "status": 401, "detail": "The access token expired."})
OK = (200, {}, {"tweets": {}})


def api_for(base: str, naps: list[float] | None = None, **options: Any) -> Api:
    """A client whose waits are recorded instead of slept."""
    naps = naps if naps is not None else []
    return Api(base, "me@example.com", "Str0ngPassword", sleep=naps.append, **options)


def test_a_401_refreshes_once_keeps_the_rotated_token_and_retries(script) -> None:
    """An expired access token: refresh with the latest refresh token, keep the new one, retry the request."""
    fake, base = script
    fake.on("/api/auth/login", tokens(1))
    fake.on("/api/auth/refresh", tokens(2), tokens(3))
    fake.on("/api/tweets/lookup", UNAUTHORIZED, OK, UNAUTHORIZED, OK)
    api = api_for(base)
    api.post("/api/tweets/lookup", {"tweetIds": ["1"]})
    api.post("/api/tweets/lookup", {"tweetIds": ["1"]})
    refreshes = [r["body"]["refreshToken"] for r in fake.requests if r["path"] == "/api/auth/refresh"]
    assert refreshes == ["refresh-1", "refresh-2"]
    lookups = [r["auth"] for r in fake.requests if r["path"] == "/api/tweets/lookup"]
    assert lookups == ["Bearer access-1", "Bearer access-2", "Bearer access-2", "Bearer access-3"]


def test_a_refused_refresh_logs_in_again(script) -> None:
    """When the session is over (refresh 401), the client logs in again with the password it holds."""
    fake, base = script
    fake.on("/api/auth/login", tokens(1), tokens(5))
    fake.on("/api/auth/refresh", UNAUTHORIZED)
    fake.on("/api/tweets/lookup", UNAUTHORIZED, OK)
    api_for(base).post("/api/tweets/lookup", {"tweetIds": ["1"]})
    assert [r["path"] for r in fake.requests].count("/api/auth/login") == 2
    assert fake.requests[-1]["auth"] == "Bearer access-5"


def test_429_and_503_are_waited_out_for_their_retry_after(script) -> None:
    """A throttled or unavailable API is retried after exactly the seconds its Retry-After names."""
    fake, base = script
    fake.on("/api/auth/login", tokens(1))
    busy = {"title": "Too Many Requests", "status": 429, "detail": "slow down"}
    down = {"title": "Service Unavailable", "status": 503, "detail": "Firestore"}
    fake.on("/api/tweets/lookup", (429, {"Retry-After": "7"}, busy), (503, {"Retry-After": "2"}, down), OK)
    naps: list[float] = []
    answer, _ = api_for(base, naps).post("/api/tweets/lookup", {"tweetIds": ["1"]})
    assert answer == {"tweets": {}} and naps == [7.0, 2.0]


def test_a_dropped_connection_is_retried_with_backoff(script) -> None:
    """The connection dies mid-request twice: the client reconnects, backing off, and gets its answer."""
    fake, base = script
    fake.on("/api/auth/login", tokens(1))
    fake.on("/api/tweets/lookup", "drop", "drop", OK)
    naps: list[float] = []
    answer, _ = api_for(base, naps).post("/api/tweets/lookup", {"tweetIds": ["1"]})
    assert answer == {"tweets": {}}
    assert len(naps) == 2 and 0 < naps[0] < naps[1] <= 30


def test_patience_runs_out_with_a_one_line_error(script) -> None:
    """A 503 that never ends stops after --patience seconds of waiting, naming the status."""
    fake, base = script
    fake.on("/api/auth/login", tokens(1))
    fake.on("/api/tweets/lookup", (503, {"Retry-After": "30"}, {"title": "Service Unavailable", "status": 503}))
    with pytest.raises(ApiError, match="503 Service Unavailable") as raised:
        api_for(base, patience=100).post("/api/tweets/lookup", {"tweetIds": ["1"]})
    assert raised.value.status == 503


def test_an_unreachable_api_fails_fast_and_says_so() -> None:
    """Nothing listens at --api: a one-line 'cannot reach' error after the short first-contact patience."""
    naps: list[float] = []
    api = api_for(f"http://127.0.0.1:{free_port()}", naps)
    with pytest.raises(ApiError, match=r"cannot reach .* connection refused"):
        api.login()
    assert sum(naps) <= 4.5


def test_wrong_credentials_are_one_line(script) -> None:
    """A 401 at login is 'wrong e-mail or password', never a retry loop."""
    fake, base = script
    fake.on(
        "/api/auth/login", (401, {}, {"title": "Unauthorized", "status": 401, "detail": "Invalid email or password."})
    )
    with pytest.raises(ApiError, match="wrong e-mail or password"):
        api_for(base).login()
    assert len(fake.requests) == 1


def test_a_bad_url_is_refused_before_any_request() -> None:
    """--api must be an http(s) URL."""
    with pytest.raises(ApiError, match="not an http"):
        api_for("ftp://example.com")


def test_import_resends_rate_limited_items_after_retry_after_and_splits_a_413(script, tmp_path: Path) -> None:
    """Items answered rate_limited go again after Retry-After; a batch refused as too large is halved."""
    fake, base = script
    archive = tmp_path / "a.zip"
    write_archive(archive, 150, repeats=0, malformed=0)
    fake.on("/api/auth/login", tokens(1))
    fake.on(
        "/api/tweets/lookup", lambda r: (200, {}, {"tweets": {i: {"status": "absent"} for i in r["body"]["tweetIds"]}})
    )
    calls = {"n": 0}

    def batch(request: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        calls["n"] += 1
        items = request["body"]["tweets"]
        if calls["n"] == 1:
            return 413, {}, {"title": "Payload Too Large", "status": 413, "detail": "over 1 MiB"}
        limited = calls["n"] == 2
        results = [
            {"index": i, "tweetId": t["tweetId"], "status": "rate_limited" if limited and i >= 10 else "published"}
            for i, t in enumerate(items)
        ]
        return 200, {"Retry-After": "3"} if limited else {}, {"results": results, "summary": {}}

    fake.on("/api/tweets/capture/batch", batch)
    naps: list[float] = []
    api = api_for(base, naps)
    counts = import_archive(archive, api, tmp_path / "invalid.ndjson", say=lambda _line: None, parallel=1)
    assert (counts.new, counts.duplicate, counts.invalid, counts.rate_limited) == (150, 0, 0, 40)
    assert len(naps) == 1 and 2.5 < naps[0] <= 3.0
    batches = [r["body"]["tweets"] for r in fake.requests if r["path"] == "/api/tweets/capture/batch"]
    assert [len(b) for b in batches] == [100, 50, 50, 90]
    assert len({t["tweetId"] for b in batches for t in b}) == 150
    assert all(item["source"] == "archive" for b in batches for item in b)


def test_a_parallel_import_sends_every_item_exactly_once(script, tmp_path: Path) -> None:
    """With 4 requests in flight, 2,000 likes are looked up and sent once each, counted once each."""
    fake, base = script
    archive = tmp_path / "a.zip"
    write_archive(archive, 2000, repeats=0, malformed=3)
    fake.on("/api/auth/login", tokens(1))
    fake.on(
        "/api/tweets/lookup", lambda r: (200, {}, {"tweets": {i: {"status": "absent"} for i in r["body"]["tweetIds"]}})
    )
    published = lambda r: (200, {}, {"results": [{"status": "published"} for _ in r["body"]["tweets"]]})  # noqa: E731
    fake.on("/api/tweets/capture/batch", published)
    counts = import_archive(archive, api_for(base), tmp_path / "invalid.ndjson", say=lambda _line: None, parallel=4)
    assert (counts.new, counts.invalid, counts.entries) == (2000, 3, 2003)
    sent = [
        t["tweetId"] for r in fake.requests if r["path"] == "/api/tweets/capture/batch" for t in r["body"]["tweets"]
    ]
    assert len(sent) == len(set(sent)) == 2000
    assert len((tmp_path / "invalid.ndjson").read_text().splitlines()) == 3


def test_a_terminated_import_says_to_run_again_and_leaves_no_file(script, tmp_path: Path) -> None:
    """SIGTERM mid-import (a closed terminal, a kill): exit status 130, the advice to re-run, no file left behind."""
    fake, base = script
    archive = tmp_path / "a.zip"
    write_archive(archive, 3000, repeats=0, malformed=2)
    fake.on("/api/auth/login", tokens(1))
    fake.on(
        "/api/tweets/lookup", lambda r: (200, {}, {"tweets": {i: {"status": "absent"} for i in r["body"]["tweetIds"]}})
    )

    def slow(request: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        time.sleep(0.2)
        return 200, {}, {"results": [{"status": "published"} for _ in request["body"]["tweets"]]}

    fake.on("/api/tweets/capture/batch", slow)
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.archive", "import", str(archive), "--api", base, "--email", "me@example.com"],
        cwd=out,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TCA_PASSWORD": "Str0ngPassword"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("importing ["):
            process.send_signal(signal.SIGTERM)
            break
    _stdout, rest = process.communicate(timeout=30)
    assert process.returncode == 130
    assert rest.strip().splitlines()[-1].startswith("interrupted after ")
    assert "run the same command again" in rest
    assert list(out.iterdir()) == []


def test_a_budget_spent_for_hours_stops_the_import_instead_of_sleeping(script, tmp_path: Path) -> None:
    """rate_limited with a Retry-After beyond --patience (the daily budget): stop and say when to run again."""
    fake, base = script
    archive = tmp_path / "a.zip"
    write_archive(archive, 300, repeats=0, malformed=0)
    fake.on("/api/auth/login", tokens(1))
    fake.on(
        "/api/tweets/lookup", lambda r: (200, {}, {"tweets": {i: {"status": "absent"} for i in r["body"]["tweetIds"]}})
    )
    fake.on(
        "/api/tweets/capture/batch",
        lambda r: (
            200,
            {"Retry-After": "7200"},
            {"results": [{"status": "rate_limited"} for _ in r["body"]["tweets"]]},
        ),
    )
    naps: list[float] = []
    with pytest.raises(BudgetExhausted, match=r"2\.0 h"):
        import_archive(archive, api_for(base, naps), tmp_path / "invalid.ndjson", say=lambda _line: None, parallel=1)
    assert naps == [] and not (tmp_path / "invalid.ndjson").exists()


def test_items_rate_limited_in_the_last_requests_in_flight_are_still_sent(script, tmp_path: Path) -> None:
    """Two requests in flight and the last batch rate-limited after the archive ran dry: it is sent again, not lost."""
    fake, base = script
    archive = tmp_path / "a.zip"
    write_archive(archive, 300, repeats=0, malformed=0)
    fake.on("/api/auth/login", tokens(1))
    fake.on(
        "/api/tweets/lookup", lambda r: (200, {}, {"tweets": {i: {"status": "absent"} for i in r["body"]["tweetIds"]}})
    )
    calls = {"n": 0}

    def batch(request: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        calls["n"] += 1
        status = "rate_limited" if calls["n"] == 3 else "published"
        return 200, {"Retry-After": "1"}, {"results": [{"status": status} for _ in request["body"]["tweets"]]}

    fake.on("/api/tweets/capture/batch", batch)
    counts = import_archive(archive, api_for(base), tmp_path / "invalid.ndjson", say=lambda _line: None, parallel=2)
    assert (counts.new, counts.rate_limited, calls["n"]) == (300, 100, 4)
