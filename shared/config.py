"""Settings from the environment, loaded once per instance on first use.

Each setting is declared once, in `SETTINGS`: its variable, type, default, bounds
and meaning. `load_settings`, the README's configuration table (checked by a test),
the tests' environment isolation and the benchmark's server environment all derive
from that table.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_ALLOWED_ORIGINS = "chrome-extension://*,http://localhost:3000"
MIN_JWT_KEY_BYTES = 32
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_HEX_KEY = re.compile(r"\A[0-9a-fA-F]+\Z")
_BASE64_KEY = re.compile(r"\A[A-Za-z0-9+/_-]+={0,2}\Z")


class ConfigError(Exception):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: how it is read and what it means."""

    env: str
    attr: str
    kind: type | str
    default: Any
    meaning: str
    low: float | None = None
    high: float | None = None
    fallback_env: str | None = None
    secret: bool = False

    def parse(self, env: Mapping[str, str]) -> Any:
        """The typed value of this setting in `env`; ConfigError naming the variable if it is unusable."""
        raw = env.get(self.env, "")
        if not raw.strip() and self.fallback_env:
            raw = env.get(self.fallback_env, "")
        if self.secret:
            return raw
        raw = raw.strip()
        if not raw:
            return self.default
        return _PARSERS[self.kind if isinstance(self.kind, str) else self.kind.__name__](self, raw)


def _number(setting: Setting, raw: str) -> float | int:
    convert: Callable[[str], float | int] = int if setting.kind is int else float
    try:
        value = convert(raw)
    except ValueError:
        what = "a whole number" if setting.kind is int else "a number"
        raise ConfigError(f"{setting.env}={raw!r} is not {what}") from None
    if setting.low is not None and setting.high is not None and not setting.low <= value <= setting.high:
        raise ConfigError(f"{setting.env}={value} is outside {setting.low}..{setting.high}")
    return value


def _bool(setting: Setting, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{setting.env}={raw!r} is not true or false")


def _level(setting: Setting, raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{setting.env}={level!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def _origins(setting: Setting, raw: str) -> tuple[str, ...]:
    # Browsers send origins in lower case; so are the entries compared with them.
    return tuple(origin.lower() for origin in _list(raw))


def _emails(setting: Setting, raw: str) -> frozenset[str] | None:
    emails = _list(raw)
    return frozenset(emails) if emails else None


def _list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


_PARSERS: dict[str, Callable[[Setting, str], Any]] = {
    "str": lambda setting, raw: raw,
    "int": _number,
    "float": _number,
    "bool": _bool,
    "level": _level,
    "origins": _origins,
    "emails": _emails,
}

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "GCP_PROJECT_ID",
        "project_id",
        str,
        "",
        "Project of Firestore and Pub/Sub.",
        fallback_env="GOOGLE_CLOUD_PROJECT",
    ),
    Setting(
        "JWT_SECRET_KEY",
        "jwt_secret_key",
        str,
        "",
        "HMAC key for access tokens and refresh-token derivation; at least 32 bytes of randomness, counted by "
        "how the key is spelled: a key of only hex digits holds 4 bits a character (64 hex characters = 32 "
        "bytes), one of only base64/base64url characters 6 bits (43 characters = 32 bytes, e.g. "
        "`secrets.token_urlsafe(32)`; `=` padding does not count), any other text its UTF-8 bytes. Functions "
        "that sign or verify tokens refuse to start without it (one-line error). `health` and `retry_queue` do "
        "not need it. In production it lives in Secret Manager.",
        secret=True,
    ),
    Setting("PUBSUB_TOPIC", "pubsub_topic", str, "tweet-likes-raw", "Topic captures are published to."),
    Setting("FIRESTORE_DATABASE", "firestore_database", str, "(default)", "Firestore database id (Native mode)."),
    Setting(
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        "access_token_expire_minutes",
        int,
        60,
        "Access-token lifetime in minutes (`expiresIn` gives it in seconds).",
        1,
        24 * 60,
    ),
    Setting(
        "REFRESH_TOKEN_EXPIRE_DAYS", "refresh_token_expire_days", int, 30, "Session (refresh-token) lifetime.", 1, 365
    ),
    Setting(
        "RATE_LIMIT_PER_MINUTE",
        "rate_limit_per_minute",
        int,
        100,
        "Captures per user per minute, shared by all instances.",
        1,
        100_000,
    ),
    Setting(
        "BATCH_RATE_LIMIT_PER_MINUTE",
        "batch_rate_limit_per_minute",
        int,
        1000,
        "Tweets per user per minute through batch capture (a 25,000-like archive imports in 25 minutes).",
        1,
        100_000,
    ),
    Setting(
        "DAILY_CAPTURE_LIMIT",
        "daily_capture_limit",
        int,
        50_000,
        "Tweets per user per UTC day, single and batch captures together: caps what a stolen token can cost.",
        1,
        10_000_000,
    ),
    Setting(
        "READ_LIMIT_PER_MINUTE",
        "read_limit_per_minute",
        int,
        20_000,
        "Documents a user may read per minute through lookup and republish by ids (one per distinct id), the "
        "listing, republish by date and the queue view (one per document a page reads), shared by all instances.",
        1,
        10_000_000,
    ),
    Setting(
        "DAILY_READ_LIMIT",
        "daily_read_limit",
        int,
        200_000,
        "Documents a user may read per UTC day through the same requests: caps what a stolen token can cost in reads.",
        1,
        100_000_000,
    ),
    Setting(
        "AUTH_RATE_LIMIT_PER_MINUTE",
        "auth_rate_limit_per_minute",
        int,
        60,
        "Requests per client address (IPv4 address, IPv6 /64; its /56 and /48 get twice and four times as many) "
        "per minute to register, login, refresh and logout, counted in each instance's memory: refusing costs "
        "no Firestore operation.",
        1,
        100_000,
    ),
    Setting(
        "LOG_LEVEL",
        "log_level",
        "level",
        "INFO",
        f"Lowest level logged: {', '.join(f'`{level}`' for level in LOG_LEVELS)}.",
    ),
    Setting(
        "ALLOWED_ORIGINS",
        "allowed_origins",
        "origins",
        tuple(DEFAULT_ALLOWED_ORIGINS.split(",")),
        "CORS origins. `chrome-extension://*` admits any extension id; `chrome-extension://<id>` pins one; "
        "`*` admits all.",
    ),
    Setting(
        "ALLOWED_EMAILS",
        "allowed_emails",
        "emails",
        None,
        "Comma list: when set, only these e-mails may register (others get 403).",
    ),
    Setting(
        "REGISTRATION_CODE",
        "registration_code",
        str,
        "",
        "When set, register requires this one-time code in the body's `registrationCode` and accepts it once: "
        "the deployment's owner creates the account, nobody else can. Without it (local `make dev`) anyone may "
        "register. In production it lives in Secret Manager.",
        secret=True,
    ),
    Setting(
        "BCRYPT_ROUNDS",
        "bcrypt_rounds",
        int,
        12,
        "bcrypt cost of new password hashes. Tests lower it for speed.",
        4,
        31,
    ),
    Setting(
        "PUBLISH_TIMEOUT_SECONDS",
        "publish_timeout_seconds",
        float,
        3.0,
        "Longest a capture waits for Pub/Sub before answering `queued`.",
        0.1,
        60.0,
    ),
    Setting(
        "MAX_RETRY_ATTEMPTS",
        "max_retry_attempts",
        int,
        5,
        "Replay attempts before a queue item is marked `failed`.",
        1,
        100,
    ),
    Setting(
        "REFRESH_TOKEN_ROTATION",
        "refresh_token_rotation",
        bool,
        True,
        "Each refresh returns a new `refreshToken` and retires the old one, with reuse detection (see below). "
        "`false` restores the spec's non-rotating refresh for a client that cannot store the new token.",
    ),
    Setting(
        "REFRESH_TOKEN_GRACE_SECONDS",
        "refresh_token_grace_seconds",
        int,
        10,
        "With rotation: how long the previous token may be retried and still get the same new token.",
        0,
        60,
    ),
    Setting(
        "TRUSTED_PROXY_HOPS",
        "trusted_proxy_hops",
        int,
        1,
        "How many proxies we trust appended to `X-Forwarded-For`: the client is that many entries from the "
        "right (see [Client address](#client-address)). `1` for a function's own URL, `2` behind an external "
        "Application Load Balancer, `0` to ignore the header.",
        0,
        10,
    ),
)
# Variables that are not settings but change what an instance does; tests isolate them too.
PLATFORM_VARS: tuple[str, ...] = ("FUNCTION_TARGET", "K_SERVICE", "FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST")
ENV_VARS: tuple[str, ...] = tuple(name for s in SETTINGS for name in (s.env, s.fallback_env) if name) + PLATFORM_VARS


@dataclass(frozen=True)
class Settings:
    """Every setting of the service, one attribute per entry of `SETTINGS`."""

    project_id: str
    jwt_secret_key: str = field(repr=False)
    pubsub_topic: str
    firestore_database: str
    access_token_expire_minutes: int
    refresh_token_expire_days: int
    rate_limit_per_minute: int
    batch_rate_limit_per_minute: int
    daily_capture_limit: int
    read_limit_per_minute: int
    daily_read_limit: int
    auth_rate_limit_per_minute: int
    log_level: str
    allowed_origins: tuple[str, ...]
    allowed_emails: frozenset[str] | None
    registration_code: str = field(repr=False)
    bcrypt_rounds: int
    publish_timeout_seconds: float
    max_retry_attempts: int
    refresh_token_rotation: bool
    refresh_token_grace_seconds: int
    trusted_proxy_hops: int

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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from an environment mapping (os.environ by default)."""
    env = os.environ if env is None else env
    settings = Settings(**{s.attr: s.parse(env) for s in SETTINGS})
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
