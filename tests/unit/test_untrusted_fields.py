"""Small hardening: cursors signed with a key of their own, URLs and usernames that cannot carry markup or lines."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from marshmallow import ValidationError

from shared import errors
from shared.db import derive_key
from shared.tweets import likes
from shared.tweets.schemas import TweetCapture

KEY = "test-key-" + "k" * 40
BODY = {"tweetId": "1858123456789012345", "tweetText": "hi", "authorUsername": "someone"}


def test_a_cursor_signed_with_the_raw_jwt_key_is_refused() -> None:
    """The listing cursor's tag uses a key derived for cursors: one made with the JWT key itself does not verify."""
    payload = json.dumps(["2025-01-01T00:00:00Z", 0, "u_1"], separators=(",", ":")).encode()
    mac = hmac.new(KEY.encode(), b"u\0" + payload, hashlib.sha256).digest()[:16]
    raw_key_cursor = base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")
    with pytest.raises(errors.InvalidQuery):
        likes.Cursor.decode(raw_key_cursor, "u", KEY, likes.Cursor.LISTING)
    cursor = likes.Cursor("2025-01-01T00:00:00Z", 0, "u_1")
    assert likes.Cursor.decode(cursor.encode("u", KEY, likes.Cursor.LISTING), "u", KEY, likes.Cursor.LISTING) == cursor


def test_derived_keys_differ_by_label_and_from_the_key() -> None:
    """Each purpose has its own key, none of them the server key."""
    keys = {derive_key(KEY, label) for label in ("listing-cursor", "refresh-token", "audit-email")}
    assert len(keys) == 3 and KEY.encode() not in keys


@pytest.mark.parametrize(
    "url",
    [
        'https://x.com/"><script>alert(1)</script>',
        "https://x.com/a b",
        "https://x.com/a<b",
        "https://x.com/{a}",
        "https://x.com/a\\b",
        "https://x.com/a|b",
        "https://x.com/a^b",
        "https://x.com/a`b",
        "https://x.com/%zz",
    ],
)
def test_a_tweet_url_outside_rfc_3986_is_invalid(url: str) -> None:
    """Quotes, angle brackets, braces, spaces, bad percent-encodings: not a URL a capture may carry."""
    with pytest.raises(ValidationError) as caught:
        TweetCapture().load({**BODY, "tweetUrl": url})
    assert "tweetUrl" in caught.value.messages


@pytest.mark.parametrize(
    "url",
    [
        "https://x.com/someone/status/1858123456789012345",
        "https://x.com/i/web/status/1?s=20&t=a-b_c~d#frag",
        "http://t.co/AbC123",
        "https://x.com/search?q=%23tag+(x)&f=live;y=[1]@!$'*,",
    ],
)
def test_real_tweet_urls_stay_valid(url: str) -> None:
    """Every RFC 3986 character after the host, percent-encodings included, is accepted."""
    assert TweetCapture().load({**BODY, "tweetUrl": url})["tweetUrl"] == url


@pytest.mark.parametrize("name", ["some\r\none", "some\none", "a\tb", "@someone", "some one", "sóme", "x" * 51, ""])
def test_an_author_username_is_letters_digits_and_underscores(name: str) -> None:
    """No control characters (CR/LF), spaces, @ or non-ASCII letters: X usernames have none."""
    with pytest.raises(ValidationError) as caught:
        TweetCapture().load({**BODY, "authorUsername": name})
    assert "authorUsername" in caught.value.messages


@pytest.mark.parametrize("name", ["someone", "Some_One_2", "a", "x" * 15])
def test_real_usernames_stay_valid(name: str) -> None:
    """What X allows (up to 15 letters, digits and underscores) is accepted as sent."""
    assert TweetCapture().load({**BODY, "authorUsername": name})["authorUsername"] == name
