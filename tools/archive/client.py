"""The deployment's `/api/...` over HTTP(S): log in, refresh on 401, wait out 429/503, retry dropped connections.

Standard library only (`http.client`, one kept-alive connection), so the tool runs
from any checkout with a plain Python 3.11. Every request it repeats is safe to
repeat: lookups and listings only read, and the batch capture deduplicates by
tweet id on the server, so a batch whose answer was lost is simply sent again.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

USER_AGENT = "tweet-capture-archive/1.0"
# Statuses worth waiting out: throttled, unavailable, or a gateway in between having a bad moment.
TRANSIENT = frozenset({429, 500, 502, 503, 504})


class ApiError(Exception):
    """The API refused or stayed out of reach; the message says why, in one line."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Api:
    """A signed-in session with one deployment.

    `patience` bounds how long one request keeps retrying after connection errors
    and transient answers (a laptop lid closed, a flaky network); the first
    contact gives up sooner, so a wrong `--api` fails fast.
    """

    def __init__(
        self,
        base_url: str,
        email: str,
        password: str,
        *,
        timeout: float = 60.0,
        patience: float = 300.0,
        first_contact_patience: float = 4.0,
        on_wait: Callable[[str, float], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url.rstrip("/"))
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ApiError(f"--api {base_url!r} is not an http(s) URL such as https://example.run.app")
        if parsed.scheme == "http" and not is_loopback(parsed.hostname):
            raise ApiError(
                f"--api {base_url!r}: the password would travel in clear; use https:// (http:// only for this machine)"
            )
        self.base_url = base_url.rstrip("/")
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port
        # "https://host/api" is a natural slip for "https://host": the paths already start with /api.
        self._prefix = parsed.path.removesuffix("/api")
        self._email = email
        self._password = password
        self._timeout = timeout
        self.patience = patience
        self._first_contact_patience = first_contact_patience
        self.on_wait = on_wait or (lambda _reason, _seconds: None)
        self.sleep = sleep
        self._local = threading.local()  # one kept-alive connection per thread
        self._session_lock = threading.Lock()
        self._contacted = False
        self.access_token: str | None = None
        self.refresh_token: str | None = None

    # Session ----------------------------------------------------------------

    def login(self) -> None:
        """Exchange e-mail and password for tokens."""
        status, _headers, body = self._call(
            "POST", "/api/auth/login", {"email": self._email, "password": self._password}
        )
        if status == 401:
            raise ApiError(f"login refused for {self._email}: wrong e-mail or password")
        if status == 429:
            raise ApiError(f"login refused: too many failed logins for {self._email}; try again later")
        self._keep_tokens(status, body, "login")

    def refresh(self) -> None:
        """A new access token (and, with rotation, a new refresh token); log in again if the session ended."""
        if self.refresh_token:
            status, _headers, body = self._call("POST", "/api/auth/refresh", {"refreshToken": self.refresh_token})
            if status == 200:
                self._keep_tokens(status, body, "refresh")
                return
        self.login()

    def _keep_tokens(self, status: int, body: Any, step: str) -> None:
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("accessToken"), str):
            raise ApiError(f"{step} failed: {describe(status, body)}", status)
        self.access_token = body["accessToken"]
        # With rotation on (the default) the old refresh token is retired: always keep the new one.
        self.refresh_token = body.get("refreshToken") or self.refresh_token

    # Requests ---------------------------------------------------------------

    def post(self, path: str, body: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """POST with the access token; the JSON answer and its headers (200 only, else ApiError)."""
        return self._authorized("POST", path, body)

    def get(self, path: str, query: dict[str, str | int] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
        """GET with the access token; the JSON answer and its headers (200 only, else ApiError)."""
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return self._authorized("GET", path, None)

    def pages(self, path: str, field: str, query: dict[str, str | int]) -> Iterator[list[Any]]:
        """Each page's `field` list of a paged GET, following `nextCursor` until it is null."""
        cursor: str | None = None
        while True:
            answer, _headers = self.get(path, {**query, "cursor": cursor} if cursor else query)
            page = answer.get(field)
            if not isinstance(page, list):
                raise ApiError(f"GET {path} answered no {field} list")
            yield page
            cursor = answer.get("nextCursor")
            if not cursor:
                return

    def _authorized(self, method: str, path: str, body: Any) -> tuple[dict[str, Any], dict[str, str]]:
        with self._session_lock:
            if self.access_token is None:
                self.login()
            token = self.access_token
        status, headers, answer = self._call(method, path, body, bearer=token)
        if status == 401:
            with self._session_lock:
                # Several threads may see the same expired token: only the first one refreshes.
                if self.access_token == token:
                    self.refresh()
                token = self.access_token
            status, headers, answer = self._call(method, path, body, bearer=token)
        if status != 200 or not isinstance(answer, dict):
            raise ApiError(f"{method} {path.split('?')[0]} failed: {describe(status, answer)}", status)
        return answer, headers

    def _call(self, method: str, path: str, body: Any, *, bearer: str | None = None) -> tuple[int, dict[str, str], Any]:
        """One request, repeated through connection errors and transient statuses until patience runs out."""
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        patience = self.patience if self._contacted else self._first_contact_patience
        started = time.monotonic()
        slept = 0.0  # counted too, so an injected sleep that returns at once still runs out of patience
        attempt = 0
        while True:
            attempt += 1
            headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
            if payload is not None:
                headers["Content-Type"] = "application/json"
            if bearer:
                headers["Authorization"] = f"Bearer {bearer}"
            try:
                status, answer_headers, answer = self._roundtrip(method, path, payload, headers)
            except (OSError, http.client.HTTPException) as exc:
                self._disconnect()
                waited = max(time.monotonic() - started, slept)
                if waited >= patience:
                    raise ApiError(f"cannot reach {self.base_url}: {reason(exc)}") from None
                delay = min(backoff(attempt), max(0.1, patience - waited))
                if self._contacted:  # a first contact fails quietly: one error line, or it works
                    self.on_wait(f"connection failed ({reason(exc)}); retrying", delay)
                self.sleep(delay)
                slept += delay
                continue
            self._contacted = True
            patience = self.patience
            if status in TRANSIENT and not (status == 429 and path == "/api/auth/login"):
                waited = max(time.monotonic() - started, slept)
                delay = retry_after(answer_headers, backoff(attempt))
                if waited + delay > patience:
                    raise ApiError(f"{method} {path.split('?')[0]} failed: {describe(status, answer)}", status)
                self.on_wait(f"{status} {_title(answer) or 'from the API'}; waiting", delay)
                self.sleep(delay)
                slept += delay
                continue
            return status, answer_headers, answer

    def _roundtrip(
        self, method: str, path: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        connection = getattr(self._local, "connection", None) or self._connect()
        connection.request(method, self._prefix + path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        if response.will_close:
            self._disconnect()
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = raw[:200].decode("utf-8", errors="replace")
        return response.status, answer_headers, answer

    def _connect(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection
        if self._scheme == "https":
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        self._local.connection = connection
        return connection

    def _disconnect(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def close(self) -> None:
        """Close this thread's kept-alive connection (the others close with their threads)."""
        self._disconnect()


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine: `localhost` or a loopback address (127.0.0.0/8, ::1)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def backoff(attempt: int) -> float:
    """Seconds before retry number ATTEMPT: exponential from 0.5 s, capped at 30 s, with jitter."""
    return min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.75 + random.random() / 2)  # noqa: S311 - jitter, not crypto


def retry_after(headers: dict[str, str], default: float) -> float:
    """The Retry-After header in seconds (RFC 9110: delta-seconds), else DEFAULT."""
    value = headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else default


def reason(exc: BaseException) -> str:
    """A short human reason for a connection failure."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    return str(exc) or type(exc).__name__


def describe(status: int, body: Any) -> str:
    """`401 Unauthorized: detail` from a problem body, or the status alone."""
    title = _title(body)
    detail = body.get("detail") if isinstance(body, dict) else None
    text = f"{status} {title}".strip() if title else f"HTTP {status}"
    return f"{text}: {detail}" if detail else text


def _title(body: Any) -> str:
    return str(body.get("title") or body.get("error") or "") if isinstance(body, dict) else ""
