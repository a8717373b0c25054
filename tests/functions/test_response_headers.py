"""Headers every answer carries: nosniff everywhere, no-store on every auth answer (RFC 6749 5.1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import STRONG_PASSWORD, function_client, new_email, register

PREFLIGHT = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}


def _auth_answers() -> list[tuple[str, str, dict[str, Any]]]:
    """(target, what, request kwargs) for register, login and refresh answers of every kind."""
    user = register()
    email = new_email()
    return [
        ("register", "201", {"json": {"email": email, "password": STRONG_PASSWORD}}),
        ("register", "409", {"json": {"email": email, "password": STRONG_PASSWORD}}),
        ("register", "400", {"json": {"email": "nope", "password": "x"}}),
        ("register", "415", {"data": "x", "content_type": "text/plain"}),
        ("login", "200", {"json": {"email": email, "password": STRONG_PASSWORD}}),
        ("login", "401", {"json": {"email": email, "password": "Wrong-Password-1"}}),
        ("refresh", "200", {"json": {"refreshToken": user["refreshToken"]}}),
        ("refresh", "401", {"json": {"refreshToken": "rt1." + "0" * 32 + ".x"}}),
        ("logout", "204", {"json": {"refreshToken": user["refreshToken"]}}),
    ]


def test_every_auth_answer_is_no_store_and_nosniff() -> None:
    """Success and error answers of register, login, refresh and logout forbid caching and sniffing."""
    for target, what, kwargs in _auth_answers():
        response = function_client(target).post("/", **kwargs)
        assert str(response.status_code) == what, (target, what, response.get_data(as_text=True))
        assert response.headers["Cache-Control"] == "no-store", (target, what)
        assert response.headers["X-Content-Type-Options"] == "nosniff", (target, what)


def test_a_rate_limited_login_is_no_store_too() -> None:
    """The 429 of a slowed address carries both headers."""
    client = function_client("login")
    for _ in range(6):
        response = client.post(
            "/", json={"email": new_email(), "password": "x"}, headers={"X-Forwarded-For": "192.0.2.9"}
        )
    assert response.status_code == 429
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("target", "method", "path", "kwargs", "status"),
    [
        ("capture", "POST", "/", {}, 401),
        ("capture", "GET", "/", {}, 405),
        ("capture", "OPTIONS", "/", {"headers": PREFLIGHT}, 204),
        ("health", "GET", "/", {}, 200),
        ("api", "GET", "/api/nowhere", {}, 404),
        ("api", "GET", "/api/openapi.json", {}, 200),
        ("api", "GET", "/api/docs", {}, 200),
        ("api", "GET", "/api/docs/swagger-ui-bundle.js", {}, 200),
        ("api", "POST", "/api/auth/login", {"json": {}}, 400),
    ],
)
def test_every_response_carries_nosniff(
    target: str, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    """Errors, preflights, health, docs and their assets: all say X-Content-Type-Options: nosniff."""
    response = function_client(target).open(path, method=method, **kwargs)
    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"
