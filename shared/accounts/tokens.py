"""Access tokens (JWT HS256) and opaque refresh tokens.

A refresh token reads `rt1.<session id>.<secret>`: the session id lets refresh find
its session with one direct document read, and the secret is an HMAC of the
session's secret 256-bit seed and the token's generation. Firestore keeps only the
current token's SHA-256 hash, the seed and the generation: the current token can be
re-derived for a retry within the grace window, and a retired one told from a forged one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from shared.db import derive_key

ISSUER = AUDIENCE = "tweet-capture-api"
ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["sub", "iat", "exp", "jti", "type", "iss", "aud"]
_PREFIX = "rt1"
_SESSION_ID = re.compile(r"[0-9a-f]{32}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of an HMAC-SHA256, unpadded


class TokenError(Exception):
    """A token that must not be accepted; the message is safe to show the client."""


def create_access_token(user_id: str, key: str, now: datetime, ttl_seconds: int) -> str:
    """A signed access token for `user_id`, valid `ttl_seconds` from `now`."""
    claims = {
        "sub": user_id,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
        "type": "access",
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify_access_token(token: str, key: str) -> str:
    """The user id of a valid access token; TokenError otherwise."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("The access token has expired; refresh it.") from None
    except jwt.InvalidTokenError:
        raise TokenError("The access token is invalid.") from None
    if claims.get("type") != "access" or not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenError("The access token is invalid.")
    return claims["sub"]


@dataclass(frozen=True)
class RefreshToken:
    """A parsed refresh token: the session it names and the full token text."""

    session_id: str
    token: str

    @property
    def digest(self) -> str:
        """SHA-256 of the whole token, the only form Firestore keeps."""
        return hash_refresh_token(self.token)


def hash_refresh_token(token: str) -> str:
    """Hex SHA-256 of a refresh token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_session_id() -> str:
    """A random session id (128 bits)."""
    return uuid.uuid4().hex


def new_seed() -> str:
    """A session's secret seed: 256 random bits from which every refresh token of the session derives."""
    return secrets.token_urlsafe(32)


def generation_nonce(seed: str, generation: int) -> str:
    """The nonce of a session's refresh token of `generation`, derived from the session's secret seed.

    So every token a session ever had can be re-derived: a retired one that comes back
    is told apart from a forged one (which must end nothing).
    """
    mac = hmac.new(seed.encode(), str(generation).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


# An extension refreshes hourly: 720 tokens in a session's 30 days. Checking 2,000 costs about 90 ms of CPU,
# and only a presented token that is not the current one pays it.
MAX_GENERATIONS_CHECKED = 2_000


def was_issued(key: str, session_id: str, seed: str, generations: int, digest: str) -> bool:
    """Whether `digest` is the hash of this session's token of some generation before `generations`."""
    return any(
        same_digest(digest, hash_refresh_token(session_token(key, session_id, seed, g)))
        for g in range(max(0, generations - MAX_GENERATIONS_CHECKED), generations)
    )


def session_token(key: str, session_id: str, seed: str, generation: int) -> str:
    """The refresh token of a session's `generation` (0 at login, +1 at each rotation)."""
    return derive_refresh_token(key, session_id, generation_nonce(seed, generation))


def derive_refresh_token(key: str, session_id: str, nonce: str) -> str:
    """The refresh token for a session's current nonce (HMAC-SHA256 under the server key)."""
    rotation_key = derive_key(key, "refresh-token")
    mac = hmac.new(rotation_key, f"{session_id}.{nonce}".encode(), hashlib.sha256).digest()
    secret = base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
    return f"{_PREFIX}.{session_id}.{secret}"


def parse_refresh_token(token: str) -> RefreshToken:
    """Split a refresh token into its session id; TokenError if it is not one of ours."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _PREFIX or not _SESSION_ID.fullmatch(parts[1]) or not _SECRET.fullmatch(parts[2]):
        raise TokenError("The refresh token is invalid.")
    return RefreshToken(session_id=parts[1], token=token)


def same_digest(a: str, b: str | None) -> bool:
    """Constant-time comparison of two hex digests."""
    return b is not None and hmac.compare_digest(a, b)
