"""Settings: defaults, validation and the start-up refusal."""

import subprocess
import sys

import pytest

from shared.config import ConfigError, load_settings
from tests.support import ROOT

KEY = "k" * 32


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
    assert settings.refresh_token_rotation is False
    assert settings.allowed_origins == ("chrome-extension://*", "http://localhost:3000")
    assert settings.allowed_emails is None


def test_gcp_project_id_wins_over_google_cloud_project() -> None:
    """GCP_PROJECT_ID is preferred; GOOGLE_CLOUD_PROJECT is the fallback."""
    assert load_settings({"GCP_PROJECT_ID": "a", "GOOGLE_CLOUD_PROJECT": "b"}).project_id == "a"


def test_allowed_emails_are_normalised() -> None:
    """ALLOWED_EMAILS entries are normalised like the e-mails they are compared with."""
    settings = load_settings({"ALLOWED_EMAILS": " Owner@Example.com , x@y.io"})
    assert settings.allowed_emails == frozenset({"owner@example.com", "x@y.io"})


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
