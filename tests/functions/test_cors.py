"""CORS on every HTTP endpoint: preflights, admitted and refused origins, errors included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.datastructures import Headers

from devtools.emulators import free_port
from shared import clients
from shared.web.endpoints import Endpoint
from tests.support import (
    HTTP_ENDPOINTS,
    STRONG_PASSWORD,
    endpoint_id,
    function_client,
    new_email,
    register,
    tweet_body,
    ways_in,
)

EXTENSION = "chrome-extension://" + "abcdefghijklmnop" * 2
OTHER_EXTENSION = "chrome-extension://" + "ponmlkjihgfedcba" * 2
LOCAL_PAGE = "http://localhost:3000"


def _preflight(target: str, path: str, method: str, origin: str) -> Any:
    """The answer to the preflight Chromium sends before a capture (lower-case header list)."""
    return function_client(target).options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def _tokens(value: str | None) -> set[str]:
    """The items of a comma-separated header, lower-cased."""
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


def _cors_names(headers: Headers) -> list[str]:
    return [name for name, _ in headers.items() if name.lower().startswith("access-control-")]


def _assert_admitted(headers: Headers, origin: str) -> None:
    assert headers.getlist("Access-Control-Allow-Origin") == [origin]
    assert "origin" in _tokens(headers.get("Vary"))
    assert "Access-Control-Allow-Credentials" not in headers


def _assert_refused(headers: Headers) -> None:
    assert _cors_names(headers) == []
    assert "origin" in _tokens(headers.get("Vary"))


@pytest.mark.parametrize("endpoint", HTTP_ENDPOINTS, ids=endpoint_id)
def test_preflight_answers_by_origin(endpoint: Endpoint) -> None:
    """Every endpoint, both ways in, answers a preflight with a 204: full for an admitted origin, bare otherwise.

    Which origins are admitted is tested case by case in tests/unit/test_cors.py.
    """
    method = endpoint.methods[0]
    for target, path in ways_in(endpoint):
        admitted = _preflight(target, path, method, EXTENSION)
        assert admitted.status_code == 204 and admitted.get_data() == b""
        _assert_admitted(admitted.headers, EXTENSION)
        assert method.lower() in _tokens(admitted.headers.get("Access-Control-Allow-Methods"))
        assert {"authorization", "content-type"} <= _tokens(admitted.headers.get("Access-Control-Allow-Headers"))
        assert int(admitted.headers["Access-Control-Max-Age"]) > 0
        assert {"origin", "access-control-request-method", "access-control-request-headers"} <= _tokens(
            admitted.headers.get("Vary")
        )
        refused = _preflight(target, path, method, "https://evil.example")
        assert refused.status_code == 204
        _assert_refused(refused.headers)


@pytest.mark.parametrize(("origin", "admitted"), [(EXTENSION, True), (OTHER_EXTENSION, False), (LOCAL_PAGE, False)])
def test_exact_extension_origin_pins_one_extension(setenv: Any, origin: str, admitted: bool) -> None:
    """ALLOWED_ORIGINS=chrome-extension://<id> admits that extension only, in preflights and answers."""
    setenv(ALLOWED_ORIGINS=EXTENSION)
    client = function_client("capture")
    preflight = client.options("/", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    answer = client.post("/", headers={"Origin": origin})
    for response in (preflight, answer):
        if admitted:
            _assert_admitted(response.headers, origin)
        else:
            _assert_refused(response.headers)


# (target, method, path, request kwargs, status): one error (or plain GET) per entry point.
ANSWERS = [
    pytest.param("register", "POST", "/", {"json": {"email": "nope", "password": "x"}}, 400, id="register-400"),
    pytest.param("register", "POST", "/", {"data": "email=a", "content_type": "text/plain"}, 415, id="register-415"),
    pytest.param(
        "register",
        "POST",
        "/",
        {"data": '{"email": "' + "a" * 70_000 + '"}', "content_type": "application/json"},
        413,
        id="register-413",
    ),
    pytest.param(
        "login", "POST", "/", {"json": {"email": new_email(), "password": STRONG_PASSWORD}}, 401, id="login-401"
    ),
    pytest.param("refresh", "POST", "/", {"json": {"refreshToken": "not-a-token"}}, 401, id="refresh-401"),
    pytest.param("logout", "POST", "/", {"json": {}}, 400, id="logout-400"),
    pytest.param("capture", "POST", "/", {"json": tweet_body()}, 401, id="capture-401-no-token"),
    pytest.param(
        "capture",
        "POST",
        "/",
        {"json": tweet_body(), "headers": {"Authorization": "Bearer not.a.jwt"}},
        401,
        id="capture-401-bad-token",
    ),
    pytest.param("capture", "GET", "/", {}, 405, id="capture-405"),
    pytest.param("health", "POST", "/", {}, 405, id="health-405"),
    pytest.param("health", "GET", "/", {}, 200, id="health-200"),
    pytest.param("api", "GET", "/api/health", {}, 200, id="api-health-200"),
    pytest.param("api", "GET", "/api/openapi.json", {}, 200, id="api-openapi-200"),
    pytest.param("api", "GET", "/api/nowhere", {}, 404, id="api-404"),
    pytest.param("api", "DELETE", "/api/tweets/capture", {}, 405, id="api-capture-405"),
]


@pytest.mark.parametrize(("target", "method", "path", "kwargs", "status"), ANSWERS)
def test_answers_and_errors_carry_cors_headers(
    target: str, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    """Every answer, 4xx included, lets an admitted origin read it; a refused origin gets nothing."""
    body = {key: value for key, value in kwargs.items() if key != "headers"}
    for origin, admitted in ((EXTENSION, True), ("https://evil.example", False)):
        headers = {**kwargs.get("headers", {}), "Origin": origin}
        response = function_client(target).open(path, method=method, headers=headers, **body)
        assert response.status_code == status, response.get_data(as_text=True)
        if admitted:
            _assert_admitted(response.headers, origin)
        else:
            _assert_refused(response.headers)


def test_unauthorized_capture_exposes_its_challenge() -> None:
    """A 401 exposes WWW-Authenticate (and Retry-After) so the extension can read why."""
    response = function_client("capture").post("/", json=tweet_body(), headers={"Origin": EXTENSION})
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
    assert {"www-authenticate", "retry-after"} <= _tokens(response.headers.get("Access-Control-Expose-Headers"))


def test_successful_flow_carries_cors_headers() -> None:
    """Register, login, capture and logout answers each echo the admitted origin."""
    origin = {"Origin": EXTENSION}
    email = new_email()
    api = function_client("api")
    answers = [api.post("/api/auth/register", json={"email": email, "password": STRONG_PASSWORD}, headers=origin)]
    grant = answers[-1].get_json()
    answers.append(api.post("/api/auth/login", json={"email": email, "password": STRONG_PASSWORD}, headers=origin))
    answers.append(
        api.post(
            "/api/tweets/capture",
            json=tweet_body(),
            headers={**origin, "Authorization": f"Bearer {grant['accessToken']}"},
        )
    )
    answers.append(api.post("/api/auth/logout", json={"refreshToken": grant["refreshToken"]}, headers=origin))
    assert [a.status_code for a in answers] == [201, 200, 200, 204]
    for answer in answers:
        _assert_admitted(answer.headers, EXTENSION)


def test_capture_with_a_token_carries_cors_headers() -> None:
    """The per-function capture's 200 echoes the origin too."""
    token = register()["accessToken"]
    response = function_client("capture").post(
        "/", json=tweet_body(), headers={"Origin": LOCAL_PAGE, "Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "published"
    _assert_admitted(response.headers, LOCAL_PAGE)


@pytest.fixture(name="fresh_clients")
def _fresh_clients() -> Iterator[None]:
    """Build the instance's clients from this test's environment, and forget them afterwards."""
    clients.reset()
    yield
    clients.reset()


def test_unreachable_firestore_503_carries_cors_headers(setenv: Any, fresh_clients: None) -> None:
    """The health 503 while Firestore is down still reaches the extension (it would show offline)."""
    setenv(FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{free_port()}")
    for target, path in (("health", "/"), ("api", "/api/health")):
        response = function_client(target).get(path, headers={"Origin": EXTENSION})
        assert response.status_code == 503
        assert response.get_json()["services"]["firestore"] == "disconnected"
        _assert_admitted(response.headers, EXTENSION)


def test_unexpected_500_carries_cors_headers(setenv: Any, fresh_clients: None) -> None:
    """An unexpected failure (here an invalid database name) is a 500 problem the extension can read."""
    setenv(FIRESTORE_DATABASE="Bad DB!")
    response = function_client("login").post(
        "/", json={"email": new_email(), "password": STRONG_PASSWORD}, headers={"Origin": EXTENSION}
    )
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 500
    _assert_admitted(response.headers, EXTENSION)
