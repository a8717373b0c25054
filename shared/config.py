"""Settings from the environment, loaded once per instance on first use."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_ALLOWED_ORIGINS = "chrome-extension://*,http://localhost:3000"
MIN_JWT_KEY_BYTES = 32
_HEX_KEY = re.compile(r"\A[0-9a-fA-F]+\Z")
_BASE64_KEY = re.compile(r"\A[A-Za-z0-9+/_-]+={0,2}\Z")


class ConfigError(Exception):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class Settings:
    """Every setting of the service; see the README's configuration table."""

    project_id: str
    jwt_secret_key: str = field(repr=False)
    pubsub_topic: str = "tweet-likes-raw"
    firestore_database: str = "(default)"
    access_token_expire_minutes: int = 60
    refresh_token_expire_days: int = 30
    rate_limit_per_minute: int = 100
    log_level: str = "INFO"
    allowed_origins: tuple[str, ...] = tuple(DEFAULT_ALLOWED_ORIGINS.split(","))
    allowed_emails: frozenset[str] | None = None
    bcrypt_rounds: int = 12
    publish_timeout_seconds: float = 3.0
    max_retry_attempts: int = 5
    refresh_token_rotation: bool = True
    refresh_token_grace_seconds: int = 10
    trusted_proxy_hops: int = 1

    @property
    def access_token_ttl_seconds(self) -> int:
        """Lifetime of an access token, the `expiresIn` of auth responses."""
        return self.access_token_expire_minutes * 60

    def require_jwt_secret(self) -> str:
        """The signing key, or ConfigError when it is missing or too short."""
        if not self.jwt_secret_key:
            raise ConfigError("JWT_SECRET_KEY is not set: set it to a random value of at least 32 bytes")
        strength, spelling = key_strength(self.jwt_secret_key)
        if strength < MIN_JWT_KEY_BYTES:
            raise ConfigError(
                f"JWT_SECRET_KEY holds {strength} bytes ({spelling}): it must hold at least "
                f"{MIN_JWT_KEY_BYTES} bytes of random data, e.g. 64 hex or 43 base64 characters"
            )
        return self.jwt_secret_key


def key_strength(key: str) -> tuple[int, str]:
    """How many random bytes a key can hold, judged by its spelling, and that spelling.

    A key of hex digits carries 4 bits a character (64 characters = 32 bytes), one of
    base64 or base64url characters 6 bits (43 characters = 32 bytes); any other text
    counts its UTF-8 bytes.
    """
    if _HEX_KEY.match(key):
        return len(key) // 2, f"{len(key)} hex characters"
    if _BASE64_KEY.match(key):
        return len(key.rstrip("=")) * 6 // 8, f"{len(key)} base64 characters"
    return len(key.encode("utf-8")), f"{len(key.encode('utf-8'))} bytes of text"


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not true or false")


def _list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from an environment mapping (os.environ by default)."""
    from shared.emails import normalize_email

    env = os.environ if env is None else env
    project_id = env.get("GCP_PROJECT_ID") or env.get("GOOGLE_CLOUD_PROJECT") or ""
    emails = _list(env.get("ALLOWED_EMAILS", ""))
    level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"LOG_LEVEL={level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    settings = Settings(
        project_id=project_id.strip(),
        jwt_secret_key=env.get("JWT_SECRET_KEY", ""),
        pubsub_topic=env.get("PUBSUB_TOPIC", "").strip() or "tweet-likes-raw",
        firestore_database=env.get("FIRESTORE_DATABASE", "").strip() or "(default)",
        access_token_expire_minutes=_int(env, "ACCESS_TOKEN_EXPIRE_MINUTES", 60, 1, 24 * 60),
        refresh_token_expire_days=_int(env, "REFRESH_TOKEN_EXPIRE_DAYS", 30, 1, 365),
        rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", 100, 1, 100_000),
        log_level=level,
        # Browsers send origins in lower case; so are the entries compared with them.
        allowed_origins=tuple(o.lower() for o in _list(env.get("ALLOWED_ORIGINS", DEFAULT_ALLOWED_ORIGINS))),
        allowed_emails=frozenset(normalize_email(e) for e in emails) if emails else None,
        bcrypt_rounds=_int(env, "BCRYPT_ROUNDS", 12, 4, 31),
        publish_timeout_seconds=_float(env, "PUBLISH_TIMEOUT_SECONDS", 3.0, 0.1, 60.0),
        max_retry_attempts=_int(env, "MAX_RETRY_ATTEMPTS", 5, 1, 100),
        refresh_token_rotation=_bool(env, "REFRESH_TOKEN_ROTATION", True),
        refresh_token_grace_seconds=_int(env, "REFRESH_TOKEN_GRACE_SECONDS", 10, 0, 60),
        trusted_proxy_hops=_int(env, "TRUSTED_PROXY_HOPS", 1, 0, 10),
    )
    if settings.jwt_secret_key:
        settings.require_jwt_secret()
    return settings


@functools.cache
def get_settings() -> Settings:
    """The instance's settings, read from os.environ on first use."""
    return load_settings()


def check_startup(target: str, needs_jwt: frozenset[str]) -> None:
    """Refuse to start an instance whose configuration cannot serve `target`.

    Raises SystemExit with a one-line message, which functions-framework prints
    before exiting, instead of failing on the first request.
    """
    try:
        settings = get_settings()
        if target in needs_jwt:
            settings.require_jwt_secret()
    except ConfigError as exc:
        raise SystemExit(f"tweet-capture-api: configuration error: {exc}") from None
