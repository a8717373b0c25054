"""What an anonymous client can make the service spend, and which sessions it can end.

Per-address limits, malformed tokens refused without Firestore, a cached health answer,
and sessions that only their own current token can end.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.emulators import free_port
from shared import clients
from shared.db import SESSIONS
from tests.support import assert_problem, function_client, register

AUTH_ENDPOINTS = [
    ("register", {"email": "someone@example.com", "password": "x"}),
    ("login", {"email": "someone@example.com", "password": "x"}),
    ("refresh", {"refreshToken": "x"}),
    ("logout", {"refreshToken": "x"}),
]


@pytest.mark.parametrize(("target", "body"), AUTH_ENDPOINTS, ids=[t for t, _ in AUTH_ENDPOINTS])
def test_unauthenticated_endpoints_are_limited_per_address(setenv: Any, target: str, body: dict[str, Any]) -> None:
    """Past AUTH_RATE_LIMIT_PER_MINUTE requests from one address, a 429 with Retry-After; another address passes."""
    setenv(AUTH_RATE_LIMIT_PER_MINUTE="3")
    client = function_client(target)
    statuses = [client.post("/", json=body, headers={"X-Forwarded-For": "203.0.113.5"}).status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429
    limited = client.post("/", json=body, headers={"X-Forwarded-For": "203.0.113.5"})
    assert_problem(limited, 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert client.post("/", json=body, headers={"X-Forwarded-For": "203.0.113.6"}).status_code != 429


def test_one_ipv6_48_shares_four_times_the_limit_among_its_64s(setenv: Any) -> None:
    """Each fresh /64 is a new address, but its /56 allows 2x and its /48 4x the limit: a /48 is not 65,536 budgets."""
    setenv(AUTH_RATE_LIMIT_PER_MINUTE="1")
    client = function_client("refresh")

    def status(address: str) -> int:
        return client.post("/", json={"refreshToken": "x"}, headers={"X-Forwarded-For": address}).status_code

    # Two /64s of one /56 fill it; a third /64 there is refused although it never asked before.
    assert [status(f"2001:db8:1:{i}::1") for i in range(3)] == [401, 401, 429]
    # The /48 takes two more from fresh /56s, then refuses every /64 in it; another /48 passes.
    assert [status(f"2001:db8:1:{i}00::1") for i in range(1, 5)] == [401, 401, 429, 429]
    assert status("2001:db8:2::1") == 401


@pytest.fixture(name="no_firestore")
def _no_firestore(setenv: Any) -> Iterator[None]:
    """Point this instance at a Firestore that is not there: any call would end in a 503."""
    setenv(FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{free_port()}")
    clients.reset()
    yield
    clients.reset()


@pytest.mark.parametrize(
    "token",
    ["rt1." + "a" * 32 + ".short", "rt1." + "a" * 32 + "." + "b" * 42 + "=", "rt1." + "A" * 32 + "." + "b" * 43],
    ids=["short-secret", "bad-character", "upper-case-id"],
)
def test_a_malformed_refresh_token_is_answered_without_firestore(no_firestore: None, token: str) -> None:
    """Refresh answers 401 and logout 204 for a token not shaped like ours, with Firestore unreachable."""
    assert function_client("refresh").post("/", json={"refreshToken": token}).status_code == 401
    assert function_client("logout").post("/", json={"refreshToken": token}).status_code == 204


def test_health_answers_from_a_short_cache() -> None:
    """Two health checks a moment apart give the same answer: the second did not check the backends again."""
    client = function_client("health")
    first, second = client.get("/").get_json(), client.get("/").get_json()
    assert first["status"] == "healthy"
    assert first["timestamp"] == second["timestamp"]


def _revoked(db: Any, refresh_token: str) -> bool:
    return db.collection(SESSIONS).document(refresh_token.split(".")[1]).get().get("revokedAt") is not None


def _forged(refresh_token: str) -> str:
    """The same session id with a secret of the right shape that is not the session's."""
    head, session_id, secret = refresh_token.split(".")
    return f"{head}.{session_id}.{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"


def test_a_forged_secret_for_a_known_session_ends_nothing(db: Any) -> None:
    """The right session id with another secret: refresh 401, logout and logout everywhere 204, the session lives."""
    user = register()
    forged = _forged(user["refreshToken"])
    assert function_client("refresh").post("/", json={"refreshToken": forged}).status_code == 401
    for everywhere in (False, True):
        body = {"refreshToken": forged, "everywhere": everywhere}
        assert function_client("logout").post("/", json=body).status_code == 204
    assert not _revoked(db, user["refreshToken"])
    assert function_client("refresh").post("/", json={"refreshToken": user["refreshToken"]}).status_code == 200


def _rotate(refresh_token: str) -> str:
    response = function_client("refresh").post("/", json={"refreshToken": refresh_token})
    assert response.status_code == 200
    return response.get_json()["refreshToken"]


def test_logout_everywhere_takes_only_the_current_token(db: Any) -> None:
    """A rotated-out token, even within grace, cannot end every session; the current one can."""
    user, other = register(), None
    old = user["refreshToken"]
    current = _rotate(old)
    other = function_client("login").post("/", json={"email": user["email"], "password": "Correct-Horse-9"})
    other_token = other.get_json()["refreshToken"]
    assert function_client("logout").post("/", json={"refreshToken": old, "everywhere": True}).status_code == 204
    assert not _revoked(db, current) and not _revoked(db, other_token)
    assert function_client("logout").post("/", json={"refreshToken": current, "everywhere": True}).status_code == 204
    assert _revoked(db, current) and _revoked(db, other_token)


def test_a_rotated_out_token_logs_out_only_within_grace(db: Any) -> None:
    """Logout with the previous token revokes within the grace window; after it, the session lives on."""
    user = register()
    old = user["refreshToken"]
    current = _rotate(old)
    session = db.collection(SESSIONS).document(old.split(".")[1])
    session.update({"rotatedAt": datetime.now(UTC) - timedelta(seconds=12)})  # rotated 12 s ago: grace is over
    assert function_client("logout").post("/", json={"refreshToken": old}).status_code == 204
    assert not _revoked(db, current)
    session.update({"rotatedAt": datetime.now(UTC)})
    assert function_client("logout").post("/", json={"refreshToken": old}).status_code == 204
    assert _revoked(db, current)
