"""The log stream of a real `api` process: one JSON line per event, traced, and free of secrets."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.server import FunctionServer
from tests.support import JWT_KEY, PROJECT, STRONG_PASSWORD, Emulators, new_email, server_env, tweet_body

pytestmark = pytest.mark.slow

SEVERITIES = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"}
TRACE = "logging.googleapis.com/trace"
LATENCY = re.compile(r"\d+\.\d+s")


@dataclass(frozen=True)
class Call:
    """One request sent to the server and what it answered."""

    method: str
    path: str
    trace_id: str
    span_id: str
    status: int
    body: Any


def _call(server: FunctionServer, path: str, body: Any, token: str | None = None) -> Call:
    """POST `body` as JSON with a fresh X-Cloud-Trace-Context (and a Bearer token)."""
    trace_id, span_id = uuid.uuid4().hex, str(uuid.uuid4().int % 10**12)
    headers = {"Content-Type": "application/json", "X-Cloud-Trace-Context": f"{trace_id}/{span_id};o=1"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - loopback only
        server.url + path, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback only
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return Call("POST", path, trace_id, span_id, status, json.loads(raw) if raw else None)


def _lines(server: FunctionServer, since: int) -> list[dict[str, Any]]:
    """Every line the server printed after offset `since`, each parsed as one JSON object."""
    entries = []
    for line in server.output()[since:].splitlines():
        entry = json.loads(line)
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def _assert_request_lines(entries: list[dict[str, Any]], calls: list[Call], function: str) -> None:
    """Each line is a Cloud Logging event of one call's trace; each call has exactly one access line."""
    for entry in entries:
        assert entry["severity"] in SEVERITIES, entry
        assert isinstance(entry["message"], str) and entry["message"], entry
        assert entry["function"] == function, entry
    traces = {f"projects/{PROJECT}/traces/{call.trace_id}": call for call in calls}
    assert {entry.get(TRACE) for entry in entries} <= set(traces), "a line without its request's trace"
    for trace, call in traces.items():
        mine = [entry for entry in entries if entry.get(TRACE) == trace]
        assert all(entry["logging.googleapis.com/spanId"] == call.span_id for entry in mine)
        assert all(entry["logging.googleapis.com/trace_sampled"] is True for entry in mine)
        access = [entry["httpRequest"] for entry in mine if "httpRequest" in entry]
        assert len(access) == 1, (call, mine)
        assert access[0]["requestMethod"] == call.method
        assert access[0]["requestUrl"] == call.path
        assert access[0]["status"] == call.status
        assert LATENCY.fullmatch(access[0]["latency"]), access[0]


def _assert_absent(output: str, secrets: dict[str, str]) -> None:
    """None of the secret strings appears anywhere in the raw output."""
    leaked = [name for name, secret in secrets.items() if secret and secret in output]
    assert not leaked, f"secrets in the log: {leaked}"


@pytest.fixture(scope="module", name="api_server")
def _api_server(emulators: Emulators) -> Iterator[FunctionServer]:
    """The `api` function in its own process on the session emulators."""
    server = FunctionServer("api", server_env(emulators)).start()
    yield server
    server.stop()


def test_auth_and_capture_flow_logs_are_traced_json_without_secrets(api_server: FunctionServer) -> None:
    """Register, login, refresh, capture, logout: JSON lines, one traced access line each, no secret."""
    since = len(api_server.output())
    email = new_email()
    credentials = {"email": email, "password": STRONG_PASSWORD}
    registered = _call(api_server, "/api/auth/register", credentials)
    logged_in = _call(api_server, "/api/auth/login", credentials)
    refreshed = _call(api_server, "/api/auth/refresh", {"refreshToken": logged_in.body["refreshToken"]})
    captured = _call(api_server, "/api/tweets/capture", tweet_body(), token=refreshed.body["accessToken"])
    logged_out = _call(api_server, "/api/auth/logout", {"refreshToken": logged_in.body["refreshToken"]})
    calls = [registered, logged_in, refreshed, captured, logged_out]
    assert [call.status for call in calls] == [201, 200, 200, 200, 204], calls
    assert captured.body["status"] == "published"

    _assert_request_lines(_lines(api_server, since), calls, "api")
    secrets = {"password": STRONG_PASSWORD, "JWT secret": JWT_KEY}
    for name, grant in (("register", registered.body), ("login", logged_in.body), ("refresh", refreshed.body)):
        secrets[f"{name} access token"] = grant["accessToken"]
        secrets[f"{name} access token signature"] = grant["accessToken"].rsplit(".", 1)[1]
        if "refreshToken" in grant:
            secrets[f"{name} refresh token"] = grant["refreshToken"]
            secrets[f"{name} refresh token secret"] = grant["refreshToken"].rsplit(".", 1)[1]
    _assert_absent(api_server.output(), secrets)


def test_failed_login_logs_a_401_without_the_password(api_server: FunctionServer) -> None:
    """A wrong password is one traced 401 access line, and neither password is logged."""
    since = len(api_server.output())
    email = new_email()
    registered = _call(api_server, "/api/auth/register", {"email": email, "password": STRONG_PASSWORD})
    wrong = "Wrong-Horse-" + uuid.uuid4().hex[:8]
    failed = _call(api_server, "/api/auth/login", {"email": email, "password": wrong})
    assert (registered.status, failed.status) == (201, 401)
    _assert_request_lines(_lines(api_server, since), [registered, failed], "api")
    _assert_absent(
        api_server.output(),
        {
            "password": STRONG_PASSWORD,
            "wrong password": wrong,
            "JWT secret": JWT_KEY,
            "access token": registered.body["accessToken"],
            "refresh token secret": registered.body["refreshToken"].rsplit(".", 1)[1],
        },
    )


def test_unexpected_error_logs_one_traced_error_and_a_500(emulators: Emulators) -> None:
    """A failure nobody planned for (an invalid database name) is an ERROR with the traceback and a 500 line."""
    server = FunctionServer("api", server_env(emulators, FIRESTORE_DATABASE="Bad DB!")).start()
    try:
        since = len(server.output())
        failed = _call(server, "/api/auth/login", {"email": new_email(), "password": STRONG_PASSWORD})
        assert failed.status == 500
        assert failed.body["status"] == 500 and "Traceback" not in json.dumps(failed.body)
        entries = _lines(server, since)
        _assert_request_lines(entries, [failed], "api")
        errors = [entry for entry in entries if entry["severity"] == "ERROR"]
        assert len(errors) == 1 and "Traceback" in errors[0]["message"], entries
        access = next(entry for entry in entries if "httpRequest" in entry)
        assert access["severity"] in {"WARNING", "ERROR"}
        _assert_absent(server.output(), {"password": STRONG_PASSWORD, "JWT secret": JWT_KEY})
    finally:
        server.stop()
