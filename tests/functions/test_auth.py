"""register, login, refresh and logout through the real entry points, on the Firestore emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from google.cloud.firestore import FieldFilter

from shared.accounts import tokens
from shared.db import SESSIONS, USERS
from tests.support import JWT_KEY, STRONG_PASSWORD, count_bcrypt_checks, function_client, new_email, register

PROBLEM = "application/problem+json"


def _post(target: str, body: Any = None, **kwargs: Any) -> Any:
    return function_client(target).post("/", json=body, **kwargs)


def test_register_returns_the_spec_body() -> None:
    """201 with userId, normalised email, tokens, expiresIn 3600 and tokenType Bearer."""
    email = new_email()
    response = _post("register", {"email": email.upper(), "password": STRONG_PASSWORD})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"userId", "email", "accessToken", "refreshToken", "expiresIn", "tokenType"}
    assert body["email"] == email and body["expiresIn"] == 3600 and body["tokenType"] == "Bearer"
    claims = jwt.decode(body["accessToken"], JWT_KEY, algorithms=["HS256"], audience="tweet-capture-api")
    assert claims["sub"] == body["userId"] and claims["type"] == "access" and claims["iss"] == "tweet-capture-api"
    assert tokens.verify_access_token(body["accessToken"], JWT_KEY) == body["userId"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "nope", "password": STRONG_PASSWORD}, {"email"}),
        ({"email": new_email(), "password": "short1A"}, {"password"}),
        ({"email": new_email(), "password": "nouppercase1"}, {"password"}),
        ({"email": new_email(), "password": "NOLOWERCASE1"}, {"password"}),
        ({"email": new_email(), "password": "NoDigitsAtAll"}, {"password"}),
        ({"email": new_email(), "password": "Aa1" + "é" * 35}, {"password"}),
        ({"email": new_email(), "password": "Password1"}, {"password"}),
        ({"email": None, "password": None}, {"email", "password"}),
        ({}, {"email", "password"}),
    ],
)
def test_register_validation_errors_name_each_field(body: dict[str, Any], fields: set[str]) -> None:
    """400 problem JSON whose `errors` names each bad field."""
    response = _post("register", body)
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == 400 and problem["title"] and problem["detail"]
    assert set(problem["errors"]) == fields


@pytest.mark.parametrize(
    "spell",
    [
        lambda email: email.replace("user", "User").replace("example", "Example"),
        lambda email: f" {email} ",
        lambda email: email.replace("@", "\u200b@"),
        lambda email: "\ufeff" + email.upper(),
    ],
    ids=["mixed-case", "padded", "zero-width", "bom-upper"],
)
def test_email_variants_are_one_account(spell: Any) -> None:
    """`User@Example.com`, ` user@example.com ` and `user\u200b@example.com` are one account (409)."""
    email = new_email()
    register(email=email)
    response = _post("register", {"email": spell(email), "password": STRONG_PASSWORD})
    assert response.status_code == 409
    assert response.mimetype == PROBLEM


def test_a_common_password_is_a_400_that_says_why() -> None:
    """Register refuses `Qwerty123` (upper, lower, digit, but among the most common) and names the reason."""
    response = _post("register", {"email": new_email(), "password": "Qwerty123"})
    assert response.status_code == 400
    assert "most common passwords" in " ".join(response.get_json()["errors"]["password"])


def test_allowed_emails_limits_sign_up(setenv: Any) -> None:
    """With ALLOWED_EMAILS set, only those addresses may register (403 for others)."""
    owner = new_email()
    setenv(ALLOWED_EMAILS=owner.upper())
    assert _post("register", {"email": new_email(), "password": STRONG_PASSWORD}).status_code == 403
    assert _post("register", {"email": owner, "password": STRONG_PASSWORD}).status_code == 201


def test_login_returns_tokens_for_the_right_password() -> None:
    """200 with the same body shape as register."""
    email = new_email()
    user = register(email=email)
    response = _post("login", {"email": f"  {email.upper()} ", "password": STRONG_PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["userId"] == user["userId"] and body["email"] == email
    assert body["refreshToken"] != user["refreshToken"]


def test_unknown_email_and_wrong_password_look_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same 401 body for both; the unknown e-mail still costs one bcrypt check."""
    email = new_email()
    register(email=email)
    checks = count_bcrypt_checks(monkeypatch)
    wrong = _post("login", {"email": email, "password": "Wrong-Password-1"})
    unknown = _post("login", {"email": new_email(), "password": "Wrong-Password-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert len(checks) == 2


def test_password_over_72_bytes_is_401_at_login() -> None:
    """A password bcrypt cannot take is a plain 401 at login, never a 500."""
    email = new_email()
    register(email=email)
    response = _post("login", {"email": email, "password": "Aa1" + "é" * 40})
    assert response.status_code == 401
    assert response.mimetype == PROBLEM


def test_disabled_account_is_403(db: Any) -> None:
    """IsActive false → 403 for the right password."""
    email = new_email()
    user = register(email=email)
    db.collection(USERS).document(user["userId"]).update({"isActive": False})
    assert _post("login", {"email": email, "password": STRONG_PASSWORD}).status_code == 403


def test_failures_from_many_addresses_do_not_lock_the_owner_out() -> None:
    """Ten failures for one e-mail from ten addresses: the right password still logs in (no flat per-e-mail lock)."""
    email = new_email()
    register(email=email)
    client = function_client("login")
    for i in range(10):
        headers = {"X-Forwarded-For": f"198.51.100.{i}"}
        assert client.post("/", json={"email": email, "password": "Wrong-1a"}, headers=headers).status_code == 401
    assert client.post("/", json={"email": email, "password": STRONG_PASSWORD}).status_code == 200


def test_failed_logins_are_rate_limited_per_address() -> None:
    """Five failures from one address across many e-mails slow that address down (429 with Retry-After)."""
    client = function_client("login")
    address = {"X-Forwarded-For": f"203.0.113.{datetime.now(UTC).microsecond % 250}, 192.0.2.{id(client) % 250}"}
    for _ in range(5):
        assert client.post("/", json={"email": new_email(), "password": "x"}, headers=address).status_code == 401
    blocked = client.post("/", json={"email": new_email(), "password": "x"}, headers=address)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert blocked.mimetype == PROBLEM


def test_sessions_keep_only_a_hash_of_the_refresh_token(db: Any) -> None:
    """The sessions document holds the SHA-256 of the token: neither the token nor its secret appears."""
    user = register()
    refresh_token = user["refreshToken"]
    session_id = refresh_token.split(".")[1]
    session = db.collection(SESSIONS).document(session_id).get().to_dict()
    assert session["refreshTokenHash"] == tokens.hash_refresh_token(refresh_token)
    stored = repr(session)
    assert refresh_token not in stored and refresh_token.split(".")[2] not in stored
    for document in db.collection(SESSIONS).where(filter=FieldFilter("userId", "==", user["userId"])).stream():
        assert refresh_token.split(".")[2] not in repr(document.to_dict())


def test_timestamps_are_timezone_aware_utc(db: Any) -> None:
    """ExpiresAt is 30 days ahead in aware UTC; createdAt is the server's timestamp."""
    user = register()
    session = db.collection(SESSIONS).document(user["refreshToken"].split(".")[1]).get().to_dict()
    assert session["expiresAt"].tzinfo is not None and session["createdAt"].tzinfo is not None
    ahead = session["expiresAt"] - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < ahead <= timedelta(days=30)
    account = db.collection(USERS).document(user["userId"]).get().to_dict()
    assert abs(account["createdAt"] - datetime.now(UTC)) < timedelta(minutes=1)


def test_refresh_returns_a_new_access_token_and_rotates_by_default() -> None:
    """200 with accessToken, expiresIn, tokenType and, rotation being the default, a new refreshToken."""
    user = register()
    response = _post("refresh", {"refreshToken": user["refreshToken"]})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"accessToken", "refreshToken", "expiresIn", "tokenType"}
    assert body["refreshToken"] != user["refreshToken"]
    assert tokens.verify_access_token(body["accessToken"], JWT_KEY) == user["userId"]


def test_without_rotation_refresh_returns_only_an_access_token(setenv: Any) -> None:
    """REFRESH_TOKEN_ROTATION=false restores the spec's answer: no refreshToken, the old one keeps working."""
    setenv(REFRESH_TOKEN_ROTATION="false")
    user = register()
    for _ in range(2):
        response = _post("refresh", {"refreshToken": user["refreshToken"]})
        assert response.status_code == 200
        assert set(response.get_json()) == {"accessToken", "expiresIn", "tokenType"}


@pytest.mark.parametrize("mutate", ["expired", "revoked", "tampered", "access-token", "unknown-session"])
def test_refresh_refuses_dead_tokens(mutate: str, db: Any) -> None:
    """Expired, revoked, tampered, unknown or access tokens → 401."""
    user = register()
    token = user["refreshToken"]
    ref = db.collection(SESSIONS).document(token.split(".")[1])
    if mutate == "expired":
        ref.update({"expiresAt": datetime.now(UTC) - timedelta(seconds=1)})
    elif mutate == "revoked":
        ref.update({"revokedAt": datetime.now(UTC)})
    elif mutate == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif mutate == "access-token":
        token = user["accessToken"]
    else:
        token = tokens.derive_refresh_token(JWT_KEY, tokens.new_session_id(), tokens.new_seed())
    response = _post("refresh", {"refreshToken": token})
    assert response.status_code == 401
    assert response.mimetype == PROBLEM


def test_logout_revokes_and_is_idempotent() -> None:
    """204, the token no longer refreshes, and a second logout is still 204."""
    user = register()
    assert _post("logout", {"refreshToken": user["refreshToken"]}).status_code == 204
    assert _post("refresh", {"refreshToken": user["refreshToken"]}).status_code == 401
    assert _post("logout", {"refreshToken": user["refreshToken"]}).status_code == 204
    assert _post("logout", {"refreshToken": "rt1." + "0" * 32 + ".nothing"}).status_code == 204


def test_logout_needs_a_token_field() -> None:
    """A body without refreshToken is a 400 naming the field."""
    response = _post("logout", {})
    assert response.status_code == 400
    assert "refreshToken" in response.get_json()["errors"]


def test_default_bcrypt_cost_is_12(setenv: Any, db: Any) -> None:
    """Without BCRYPT_ROUNDS the stored hash has cost 12."""
    setenv(BCRYPT_ROUNDS="")
    user = register()
    stored = db.collection(USERS).document(user["userId"]).get().get("passwordHash")
    assert stored.startswith("$2b$12$")


@pytest.mark.parametrize("rotation", ["false", "true"])
def test_a_disabled_account_cannot_refresh(rotation: str, setenv: Any, db: Any) -> None:
    """Once isActive is false, refresh answers 403 and issues no new token (with or without rotation)."""
    setenv(REFRESH_TOKEN_ROTATION=rotation)
    user = register()
    db.collection(USERS).document(user["userId"]).update({"isActive": False})
    response = _post("refresh", {"refreshToken": user["refreshToken"]})
    assert response.status_code == 403 and response.mimetype == PROBLEM
    session = db.collection(SESSIONS).document(user["refreshToken"].split(".")[1]).get()
    assert session.get("generation") == 0
