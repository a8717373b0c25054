"""Access and refresh tokens."""

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from shared.accounts import passwords, tokens
from tests.support import count_bcrypt_checks

KEY = "unit-test-key-" + "z" * 32
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_access_token_carries_the_contract_claims() -> None:
    """sub, iat, exp, jti, type, iss and aud are all present and right."""
    token = tokens.create_access_token("user-1", KEY, NOW, 3600)
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience="tweet-capture-api", options={"verify_exp": False})
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert claims["sub"] == "user-1" and claims["type"] == "access"
    assert claims["iss"] == claims["aud"] == "tweet-capture-api"
    assert claims["exp"] - claims["iat"] == 3600 and claims["jti"]


def test_fresh_access_token_verifies() -> None:
    """A token minted now verifies to its user id."""
    token = tokens.create_access_token("user-1", KEY, datetime.now(UTC), 60)
    assert tokens.verify_access_token(token, KEY) == "user-1"


def _forged(claims: dict, key: str = KEY, alg: str = "HS256") -> str:
    base = {
        "sub": "u",
        "iat": datetime.now(UTC),
        "exp": datetime.now(UTC) + timedelta(minutes=5),
        "jti": "j",
        "type": "access",
        "iss": "tweet-capture-api",
        "aud": "tweet-capture-api",
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, key, algorithm=alg)


@pytest.mark.parametrize(
    "token",
    [
        _forged({"exp": datetime.now(UTC) - timedelta(seconds=5)}),
        _forged({}, key="another-key-" + "q" * 32),
        _forged({"type": "refresh"}),
        _forged({"iss": "someone-else"}),
        _forged({"aud": "someone-else"}),
        _forged({"jti": None}),
        _forged({"sub": None}),
        _forged({}, key="k" * 64, alg="HS512"),
        _b64({"alg": "none", "typ": "JWT"}) + "." + _b64({"sub": "u", "type": "access"}) + ".",
        "not-a-token",
        "",
    ],
    ids=["expired", "wrong-key", "refresh-type", "issuer", "audience", "no-jti", "no-sub", "hs512", "alg-none",
         "garbage", "empty"],
)  # fmt: skip
def test_unacceptable_access_tokens_are_refused(token: str) -> None:
    """Expired, wrongly signed, mistyped, alg:none and malformed tokens all fail."""
    with pytest.raises(tokens.TokenError):
        tokens.verify_access_token(token, KEY)


def test_refresh_token_is_opaque_and_long() -> None:
    """A refresh token carries at least 256 bits and parses back to its session."""
    session_id = tokens.new_session_id()
    token = tokens.derive_refresh_token(KEY, session_id, tokens.new_seed())
    assert len(token.split(".")[2]) >= 43  # 32 bytes in base64url
    assert tokens.parse_refresh_token(token).session_id == session_id


def test_refresh_token_depends_on_nonce_and_key() -> None:
    """Another nonce or another server key gives another token."""
    sid = tokens.new_session_id()
    token = tokens.derive_refresh_token(KEY, sid, "n1")
    assert token == tokens.derive_refresh_token(KEY, sid, "n1")
    assert token != tokens.derive_refresh_token(KEY, sid, "n2")
    assert token != tokens.derive_refresh_token(KEY + "x", sid, "n1")


@pytest.mark.parametrize("raw", ["", "rt1", "rt1.abc.def", "xx1." + "a" * 32 + ".s", "rt1." + "g" * 32 + ".s"])
def test_foreign_refresh_tokens_do_not_parse(raw: str) -> None:
    """Anything that is not `rt1.<32 hex>.<secret>` is refused before any lookup."""
    with pytest.raises(tokens.TokenError):
        tokens.parse_refresh_token(raw)


@pytest.mark.parametrize(
    "session_id",
    [
        "0x" + "a" * 30,  # int(..., 16) takes a 0x prefix
        " " + "a" * 31,  # ... and surrounding spaces
        "a" * 31 + "\n",
        "a_" + "b" * 30,  # ... and underscores between digits
        "+" + "a" * 31,  # ... and a sign
        "A" * 32,  # upper-case hex is not how session ids are written
        "a" * 31 + "\u0661",  # a non-ASCII digit
    ],
    ids=["0x", "space", "newline", "underscore", "sign", "upper", "arabic-digit"],
)
def test_the_session_id_part_is_exactly_32_lower_case_hex_digits(session_id: str) -> None:
    """Only `[0-9a-f]{32}` names a session: no prefix, sign, space, underscore or capital sneaks through."""
    assert len(session_id) == 32
    with pytest.raises(tokens.TokenError):
        tokens.parse_refresh_token(f"rt1.{session_id}.secret")


def test_an_access_token_is_not_a_refresh_token() -> None:
    """Presenting a JWT as a refresh token fails to parse."""
    with pytest.raises(tokens.TokenError):
        tokens.parse_refresh_token(tokens.create_access_token("u", KEY, NOW, 60))


def test_password_round_trip_and_long_passwords() -> None:
    """Bcrypt verifies the right password, refuses others and never raises on > 72 bytes."""
    hashed = passwords.hash_password("Correct-Horse-9", 4)
    assert passwords.verify_password("Correct-Horse-9", hashed)
    assert not passwords.verify_password("wrong", hashed)
    assert not passwords.verify_password("x" * 73, hashed)
    assert not passwords.verify_password("é" * 40, hashed)
    assert not passwords.verify_password("x", "not-a-hash")


def test_every_wrong_password_costs_one_bcrypt_check_at_the_hashs_cost(monkeypatch: Any) -> None:
    """Over-long passwords are checked against the stored hash too, and the dummy hash has the configured cost."""
    checks = count_bcrypt_checks(monkeypatch)
    hashed = passwords.hash_password("Correct-Horse-9", 4)
    for password in ("Wrong-Horse-9", "é" * 40, "x" * 73):
        checks.clear()
        assert not passwords.verify_password(password, hashed)
        assert checks == [hashed.encode()], password  # one check at the stored hash's cost, not a short cut
    assert passwords.dummy_hash(10).startswith("$2b$10$") and passwords.dummy_hash(4).startswith("$2b$04$")
    assert not passwords.verify_password("anything", passwords.dummy_hash(4))
