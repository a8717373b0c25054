"""Settings: defaults, validation and the start-up refusal."""

import subprocess
import sys

import pytest

from shared.config import ConfigError, load_settings
from tests.support import ROOT

KEY = "0123456789abcdef" * 4  # 64 hex characters: 32 bytes


def test_defaults_match_the_contract() -> None:
    """With only the secret set, every setting has the contract's default."""
    settings = load_settings({"JWT_SECRET_KEY": KEY, "GOOGLE_CLOUD_PROJECT": "p"})
    assert settings.project_id == "p"
    assert settings.pubsub_topic == "tweet-likes-raw"
    assert settings.firestore_database == "(default)"
    assert settings.access_token_ttl_seconds == 3600
    assert settings.refresh_token_expire_days == 30
    assert settings.rate_limit_per_minute == 100
    assert settings.bcrypt_rounds == 12
    assert settings.publish_timeout_seconds == 3.0
    assert settings.max_retry_attempts == 5
    assert settings.refresh_token_rotation is True
    assert settings.refresh_token_grace_seconds == 10
    assert settings.trusted_proxy_hops == 1
    assert settings.allowed_origins == ("chrome-extension://*", "http://localhost:3000")
    assert settings.allowed_emails is None


def test_gcp_project_id_wins_over_google_cloud_project() -> None:
    """GCP_PROJECT_ID is preferred; GOOGLE_CLOUD_PROJECT is the fallback."""
    assert load_settings({"GCP_PROJECT_ID": "a", "GOOGLE_CLOUD_PROJECT": "b"}).project_id == "a"


def test_allowed_emails_are_a_trimmed_list() -> None:
    """ALLOWED_EMAILS is a comma list, each entry trimmed (register normalises them like the e-mails it compares)."""
    settings = load_settings({"ALLOWED_EMAILS": " Owner@Example.com , x@y.io"})
    assert settings.allowed_emails == frozenset({"Owner@Example.com", "x@y.io"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BCRYPT_ROUNDS", "3"),
        ("BCRYPT_ROUNDS", "twelve"),
        ("RATE_LIMIT_PER_MINUTE", "0"),
        ("PUBLISH_TIMEOUT_SECONDS", "-1"),
        ("REFRESH_TOKEN_ROTATION", "maybe"),
        ("LOG_LEVEL", "LOUD"),
        ("JWT_SECRET_KEY", "too-short"),
        ("TRUSTED_PROXY_HOPS", "-1"),
        ("TRUSTED_PROXY_HOPS", "one"),
        ("REFRESH_TOKEN_GRACE_SECONDS", "3600"),
    ],
)
def test_bad_values_are_refused(name: str, value: str) -> None:
    """A value out of range or of the wrong type is a ConfigError naming the variable."""
    with pytest.raises(ConfigError, match=name):
        load_settings({"JWT_SECRET_KEY": KEY, name: value})


def test_missing_secret_is_reported_when_required() -> None:
    """Settings load without a key, but asking for it fails clearly."""
    settings = load_settings({})
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY is not set"):
        settings.require_jwt_secret()


def test_the_secret_is_not_in_the_repr() -> None:
    """The settings object never prints the key."""
    assert KEY not in repr(load_settings({"JWT_SECRET_KEY": KEY}))


@pytest.mark.parametrize("key", ["", "short-key"])
def test_functions_framework_refuses_to_start_without_a_usable_key(key: str) -> None:
    """`functions-framework --target login` exits at once with one clear line."""
    env = {"PATH": "/usr/bin:/bin", "JWT_SECRET_KEY": key, "GCP_PROJECT_ID": "demo-x"}
    result = subprocess.run(
        [sys.executable, "-m", "functions_framework", "--target", "login", "--source", "main.py", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[-1]] and "JWT_SECRET_KEY" in lines[-1], result.stderr


def test_health_starts_without_a_key() -> None:
    """Health and retry_queue do not need the signing key, so they start without it."""
    result = subprocess.run(
        [sys.executable, "-c", "import main"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "FUNCTION_TARGET": "health"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_allowed_origins_are_compared_in_lower_case() -> None:
    """An origin typed with capitals in ALLOWED_ORIGINS still matches what browsers send."""
    settings = load_settings(
        {"ALLOWED_ORIGINS": "Chrome-Extension://ABCDEFGHIJKLMNOPABCDEFGHIJKLMNOP, HTTP://LocalHost:3000"}
    )
    assert settings.allowed_origins == ("chrome-extension://abcdefghijklmnopabcdefghijklmnop", "http://localhost:3000")


@pytest.mark.parametrize(
    ("key", "usable"),
    [
        ("0123456789abcdef" * 4, True),  # 64 hex characters = 32 bytes
        ("0123456789abcdef" * 2 + "0123456789abcde", False),  # 62 hex characters = 31 bytes
        ("0123456789abcdef" * 2, False),  # 32 hex characters: 16 bytes, though 32 characters long
        ("A" * 42 + "Q", True),  # 43 base64 characters = 32 bytes (secrets.token_urlsafe(32))
        ("A" * 42, False),  # 42 base64 characters = 31 bytes
        ("abcdefghij" * 4 + "==", False),  # padding is not data: 40 base64 characters = 30 bytes
        ("Zm9v+/" * 8, True),  # 48 base64 characters = 36 bytes
        ("a key with spaces, 32 bytes long", True),  # other text: its UTF-8 bytes
        ("é" * 16, True),  # 16 characters, 32 bytes of UTF-8
        ("a key with spaces, 31 bytes lon", False),
    ],
)
def test_the_key_length_counts_the_bytes_its_spelling_can_hold(key: str, usable: bool) -> None:
    """Hex keys count 4 bits a character, base64 keys 6, other text its UTF-8 bytes; 32 bytes are needed."""
    settings = load_settings({"JWT_SECRET_KEY": key}) if usable else None
    if usable:
        assert settings is not None and settings.require_jwt_secret() == key
    else:
        with pytest.raises(ConfigError, match="JWT_SECRET_KEY holds"):
            load_settings({"JWT_SECRET_KEY": key})
