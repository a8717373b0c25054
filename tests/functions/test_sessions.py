"""Sessions as a client lives them: rotation by default, a thief's replay, logout here and everywhere."""

from __future__ import annotations

import time
from typing import Any

import pytest
from google.cloud.firestore import FieldFilter

from shared import config
from shared.db import SESSIONS, USERS
from tests.support import STRONG_PASSWORD, function_client, new_email, register, tweet_body


class ExtensionClient:
    """What the extension written for the original spec does: keep a `refreshToken` when refresh returns one."""

    def __init__(self, email: str) -> None:
        self.email = email
        self.login = function_client("login")
        self.refresher = function_client("refresh")
        self.refresh_token = ""

    def log_in(self) -> int:
        """Log in and keep the tokens; the status."""
        response = self.login.post("/", json={"email": self.email, "password": STRONG_PASSWORD})
        if response.status_code == 200:
            self.refresh_token = response.get_json()["refreshToken"]
        return response.status_code

    def refresh(self, token: str | None = None) -> tuple[int, dict[str, Any]]:
        """Refresh with `token` (its own by default), keeping a refreshToken the answer carries."""
        response = self.refresher.post("/", json={"refreshToken": token or self.refresh_token})
        body = response.get_json() or {}
        if response.status_code == 200 and "refreshToken" in body:
            self.refresh_token = body["refreshToken"]
        return response.status_code, body


def test_a_spec_client_keeps_working_and_a_thiefs_replay_after_grace_ends_the_session(
    setenv: Any,
) -> None:
    """Default rotation: refresh, retry within grace (same new token), thief replays after grace, session dead."""
    setenv(REFRESH_TOKEN_GRACE_SECONDS="1")  # the default is 10 s; one keeps the test short
    email = new_email()
    register(email=email)
    owner = ExtensionClient(email)
    assert owner.log_in() == 200
    stolen = owner.refresh_token
    for _ in range(3):  # an ordinary day: each refresh hands the client its next token, which it keeps
        status, body = owner.refresh()
        assert status == 200 and body["accessToken"] and body["refreshToken"] == owner.refresh_token
    before_retry = owner.refresh_token
    status, first = owner.refresh()
    status_retry, retry = owner.refresh(before_retry)  # the answer was lost: the client retries at once
    assert status == status_retry == 200
    assert retry["refreshToken"] == first["refreshToken"] == owner.refresh_token
    time.sleep(1.5)
    assert owner.refresh(stolen)[0] == 401  # the thief replays a retired token after the grace window
    assert owner.refresh()[0] == 401  # reuse detection ended the whole session, the newest token included
    assert owner.log_in() == 200  # the owner logs in again
    assert owner.refresh()[0] == 200


def test_the_default_grace_window_is_at_most_ten_seconds() -> None:
    """REFRESH_TOKEN_ROTATION is on and REFRESH_TOKEN_GRACE_SECONDS is 10 unless set."""
    settings = config.get_settings()
    assert settings.refresh_token_rotation is True and 0 < settings.refresh_token_grace_seconds <= 10


def _logins(email: str, count: int) -> list[str]:
    client = function_client("login")
    return [
        client.post("/", json={"email": email, "password": STRONG_PASSWORD}).get_json()["refreshToken"]
        for _ in range(count)
    ]


def test_logout_everywhere_revokes_every_session_of_the_user(db: Any) -> None:
    """`everywhere: true` ends all of the user's sessions (the lost laptop too) and no one else's."""
    email = new_email()
    user = register(email=email)
    laptop, phone = _logins(email, 2)
    other = register()
    response = function_client("logout").post("/", json={"refreshToken": phone, "everywhere": True})
    assert response.status_code == 204
    refresh = function_client("refresh")
    for token in (user["refreshToken"], laptop, phone):
        assert refresh.post("/", json={"refreshToken": token}).status_code == 401
    assert refresh.post("/", json={"refreshToken": other["refreshToken"]}).status_code == 200
    sessions = db.collection(SESSIONS).where(filter=FieldFilter("userId", "==", user["userId"])).get()
    assert len(sessions) == 3 and all(s.get("revokedAt") is not None for s in sessions)


def test_logout_without_everywhere_revokes_only_that_session() -> None:
    """A plain logout (or `everywhere: false`) leaves the user's other sessions alive."""
    email = new_email()
    register(email=email)
    laptop, phone = _logins(email, 2)
    assert function_client("logout").post("/", json={"refreshToken": phone, "everywhere": False}).status_code == 204
    refresh = function_client("refresh")
    assert refresh.post("/", json={"refreshToken": phone}).status_code == 401
    assert refresh.post("/", json={"refreshToken": laptop}).status_code == 200


@pytest.mark.parametrize("everywhere", ["yes", 1, None, "true"])
def test_everywhere_must_be_a_json_boolean(everywhere: Any) -> None:
    """`everywhere` other than true or false is a 400 naming it; nothing is revoked."""
    user = register()
    response = function_client("logout").post(
        "/", json={"refreshToken": user["refreshToken"], "everywhere": everywhere}
    )
    assert response.status_code == 400 and "everywhere" in response.get_json()["errors"]
    assert function_client("refresh").post("/", json={"refreshToken": user["refreshToken"]}).status_code == 200


def test_logout_everywhere_with_a_dead_token_revokes_nothing() -> None:
    """A forged or unknown token with `everywhere` is still a 204 and ends no session."""
    user = register()
    forged = "rt1." + user["refreshToken"].split(".")[1] + ".forged"
    assert function_client("logout").post("/", json={"refreshToken": forged, "everywhere": True}).status_code == 204
    assert function_client("refresh").post("/", json={"refreshToken": user["refreshToken"]}).status_code == 200


@pytest.mark.parametrize("rotation", ["true", "false"])
def test_disabling_an_account_kills_every_refresh_token(rotation: str, setenv: Any, db: Any) -> None:
    """Disabled (isActive false): every session's refresh is a 403; an issued access token lives out its hour."""
    setenv(REFRESH_TOKEN_ROTATION=rotation)
    email = new_email()
    user = register(email=email)
    tokens = [user["refreshToken"], *_logins(email, 2)]
    db.collection(USERS).document(user["userId"]).update({"isActive": False})
    refresh = function_client("refresh")
    assert [refresh.post("/", json={"refreshToken": t}).status_code for t in tokens] == [403, 403, 403]
    capture = function_client("capture").post(
        "/", json=tweet_body(), headers={"Authorization": f"Bearer {user['accessToken']}"}
    )
    assert capture.status_code == 200
