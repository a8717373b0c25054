"""Accounts under real concurrency: requests in parallel through functions-framework processes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from shared.accounts import tokens
from tests.support import JWT_KEY, STRONG_PASSWORD, new_email


def _parallel(count: int, call: Any) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def test_simultaneous_registrations_of_one_email(serve: Any) -> None:
    """Two (and then ten) sign-ups of one new e-mail at once: exactly one 201, the rest 409."""
    server = serve("register")
    for count in (2, 10):
        email = new_email()
        responses = _parallel(
            count, lambda email=email: requests.post(server.url, json={"email": email, "password": STRONG_PASSWORD})
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (count - 1), [r.text for r in responses]


def _rotating(serve: Any) -> tuple[Any, Any]:
    return serve("register", REFRESH_TOKEN_ROTATION="true"), serve("refresh", REFRESH_TOKEN_ROTATION="true")


def test_rotation_then_replay_of_the_first_token_kills_the_session(serve: Any) -> None:
    """Rotate three times, replay the first token after the grace window: every token is dead."""
    register = serve("register", REFRESH_TOKEN_ROTATION="true")
    refresh = serve("refresh", REFRESH_TOKEN_ROTATION="true", REFRESH_TOKEN_GRACE_SECONDS="0")
    first = requests.post(register.url, json={"email": new_email(), "password": STRONG_PASSWORD}).json()
    chain = [first["refreshToken"]]
    for _ in range(3):
        response = requests.post(refresh.url, json={"refreshToken": chain[-1]})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["refreshToken"] not in chain
        assert tokens.verify_access_token(body["accessToken"], JWT_KEY) == first["userId"]
        chain.append(body["refreshToken"])
    assert len(set(chain)) == 4
    assert requests.post(refresh.url, json={"refreshToken": chain[0]}).status_code == 401
    for token in chain:
        assert requests.post(refresh.url, json={"refreshToken": token}).status_code == 401, token[:8]


def test_concurrent_refreshes_never_fork_a_session(serve: Any) -> None:
    """20 refreshes of one token at once: all succeed with one and the same new token."""
    register, refresh = _rotating(serve)
    user = requests.post(register.url, json={"email": new_email(), "password": STRONG_PASSWORD}).json()
    responses = _parallel(20, lambda: requests.post(refresh.url, json={"refreshToken": user["refreshToken"]}))
    live = {r.json()["refreshToken"] for r in responses if r.status_code == 200}
    assert len(live) == 1, [r.status_code for r in responses]
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    (new_token,) = live
    assert requests.post(refresh.url, json={"refreshToken": new_token}).status_code == 200
