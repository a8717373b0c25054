"""Request validation: what each schema accepts, normalises and refuses."""

from typing import Any

import pytest
from marshmallow import ValidationError

from shared.accounts.emails import normalize_email
from shared.accounts.schemas import Credentials, Registration
from shared.tweets.schemas import TweetCapture
from tests.support import tweet_body


@pytest.mark.parametrize(
    "raw", ["User@Example.com", " user@example.com ", "user\u200b@example.com", "\ufeffUSER@EXAMPLE.COM\t"]
)
def test_email_variants_normalise_to_one_address(raw: str) -> None:
    """Case, surrounding space, zero-width characters and NFKC forms are one mailbox."""
    assert normalize_email(raw) == "user@example.com"


def test_nfkc_folds_compatibility_characters() -> None:
    """Full-width letters fold to ASCII."""
    assert normalize_email("\uff55\uff53\uff45\uff52@example.com") == "user@example.com"


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("Sh0rt", "at least 8"),
        ("alllowercase1", "upper-case"),
        ("ALLUPPERCASE1", "lower-case"),
        ("NoDigitsHere", "digit"),
        ("Aa1" + "é" * 35, "72 bytes"),
    ],
)
def test_weak_or_unhashable_passwords_are_refused(password: str, fragment: str) -> None:
    """Registration names each broken password rule."""
    with pytest.raises(ValidationError) as info:
        Registration().load({"email": "a@b.co", "password": password})
    assert any(fragment in message for message in info.value.messages["password"])


def test_password_of_exactly_72_bytes_is_accepted() -> None:
    """The byte limit counts UTF-8 bytes: 72 is fine."""
    password = "Aa1" + "x" * 69
    assert Registration().load({"email": "a@b.co", "password": password})["password"] == password


@pytest.mark.parametrize("email", ["not-an-email", "", "a@", "@b.co", "a b@c.co", None, 42])
def test_invalid_emails_are_refused(email: Any) -> None:
    """Login and registration both refuse what is not an address."""
    with pytest.raises(ValidationError) as info:
        Credentials().load({"email": email, "password": "x"})
    assert "email" in info.value.messages


def test_realistic_capture_body_is_accepted_as_sent() -> None:
    """The extension's real body (milliseconds, real URL) loads unchanged, its source the extension."""
    body = tweet_body()
    assert TweetCapture().load(body) == {**body, "source": "chrome-extension"}


def test_capture_defaults_and_drops_unknown_fields() -> None:
    """Booleans default to false; unknown fields are dropped, not stored."""
    loaded = TweetCapture().load(
        {"tweetId": "1858123456789012345", "tweetText": "", "authorUsername": "a", "evil": {"$set": 1}}
    )
    assert "evil" not in loaded
    assert loaded["isReply"] is False and loaded["hasLink"] is False
    assert isinstance(loaded["capturedAt"], int)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tweetId", "0"),
        ("tweetId", "012345"),
        ("tweetId", "9223372036854775808"),
        ("tweetId", "1" * 20),
        ("tweetId", 1858123456789012345),
        ("tweetId", "18581234567890123x5"),
        ("tweetId", "1" * 21),
        ("tweetId", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦"),
        ("tweetText", "x" * 5001),
        ("tweetText", None),
        ("authorUsername", ""),
        ("isReply", "true"),
        ("isReply", 1),
        ("timestamp", "yesterday"),
        ("capturedAt", "1763548200000"),
        ("capturedAt", 1.5),
        ("tweetUrl", "javascript:alert(1)"),
        ("tweetUrl", "ftp://x.com/a"),
        ("tweetUrl", "https://x.com/" + "a" * 2035),
    ],
)
def test_bad_capture_fields_are_named(field: str, value: Any) -> None:
    """Each invalid field is reported under its own name."""
    with pytest.raises(ValidationError) as info:
        TweetCapture().load(tweet_body(**{field: value}))
    assert field in info.value.messages


@pytest.mark.parametrize("tweet_id", ["20", "12345", "1" * 18, "9223372036854775807", "1858123456789012345"])
def test_tweet_ids_from_every_era_are_accepted(tweet_id: str) -> None:
    """Any positive 64-bit decimal is a tweet id: the first tweets (2006) have two digits, not 15."""
    assert TweetCapture().load(tweet_body(tweetId=tweet_id))["tweetId"] == tweet_id


def test_the_tweet_id_pattern_is_exactly_the_positive_int64_decimals() -> None:
    """The generated pattern agrees with integer arithmetic on every length and around every digit of the bound."""
    import random

    from shared.fields import INT64_MAX, TWEET_ID, Pattern

    check = Pattern(TWEET_ID, "x").regex
    rng = random.Random(7)
    near = [INT64_MAX + delta for delta in range(-3, 4)]
    near += [int(str(INT64_MAX)[:i] + str(d) + "0" * (18 - i)) for i in range(19) for d in range(10)]
    samples = [*near, *(rng.randrange(1, 10 ** rng.randint(1, 20)) for _ in range(3000)), 0]
    for value in samples:
        text = str(value)
        assert bool(check.fullmatch(text)) == (1 <= value <= INT64_MAX), text
        assert not check.fullmatch("0" + text)


@pytest.mark.parametrize("field", ["tweetId", "tweetText", "authorUsername"])
def test_required_capture_fields(field: str) -> None:
    """tweetId, tweetText and authorUsername are required."""
    body = tweet_body()
    del body[field]
    with pytest.raises(ValidationError) as info:
        TweetCapture().load(body)
    assert field in info.value.messages


@pytest.mark.parametrize("password", ["Password1", "Qwerty123", "iLoveYou1", "Iloveyou1 ", "Passw0rd", "Abcd1234"])
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    """A password from the list of the most common ones is refused with a message that says so."""
    with pytest.raises(ValidationError) as raised:
        Registration().load({"email": "a@b.co", "password": password})
    assert any("most common passwords" in m for m in raised.value.messages["password"])


def test_the_common_password_list_is_shipped_and_large() -> None:
    """At least the 10,000 most common passwords, read from the package (no network), all lower-case."""
    from shared.accounts.common_passwords import common_passwords

    listed = common_passwords()
    assert len(listed) >= 10_000
    assert {"123456", "password", "qwerty", "iloveyou"} <= listed
    assert all(p == p.lower() for p in listed)


def test_a_strong_uncommon_password_is_accepted() -> None:
    """The list refuses only what is on it."""
    assert Registration().load({"email": "a@b.co", "password": "Correct-Horse-9"})["password"] == "Correct-Horse-9"


def test_only_registration_loads_the_list() -> None:
    """Importing every entry point and validating a login leaves the list unread; a registration reads it."""
    import subprocess
    import sys

    from tests.support import ROOT

    code = (
        "import sys, main\n"
        "for name in main.__all__: getattr(main, name)\n"
        "from shared.accounts.schemas import Credentials, Registration\n"
        "Credentials().load({'email': 'a@b.co', 'password': 'Password1'})\n"
        "print('shared.accounts.common_passwords' in sys.modules)\n"
        "Registration().load({'email': 'a@b.co', 'password': 'Correct-Horse-9'})\n"
        "print('shared.accounts.common_passwords' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "JWT_SECRET_KEY": "0123456789abcdef" * 4, "GCP_PROJECT_ID": "demo-x"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "True"]
