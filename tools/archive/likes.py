"""An archive like ↔ a capture body: `{"like": {"tweetId", "fullText", "expandedUrl"}}` both ways."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

from tools.archive.reader import Entry

# The contract's tweet id: the decimal string of a positive 64-bit integer.
TWEET_ID = re.compile(r"\A[1-9][0-9]{0,18}\Z")
MAX_TWEET_ID = 2**63 - 1
SOURCE = "archive"


@dataclass(frozen=True)
class Invalid:
    """An archive entry that cannot become a capture, and why (field → messages, as the API reports it)."""

    part: str
    index: int
    tweet_id: str | None
    errors: dict[str, list[str]]
    value: Any

    def record(self) -> dict[str, Any]:
        """The line of the invalid-items file that describes this entry."""
        return {
            "file": self.part,
            "index": self.index,
            "tweetId": self.tweet_id,
            "errors": self.errors,
            "entry": self.value,
        }


def is_tweet_id(value: Any) -> bool:
    """Whether VALUE is a tweet id string the API accepts."""
    return isinstance(value, str) and TWEET_ID.match(value) is not None and int(value) <= MAX_TWEET_ID


def to_capture(entry: Entry) -> dict[str, Any] | Invalid:
    """The capture body of an archive like, or why there is none.

    `fullText` is HTML-escaped in the archive (`&amp;`) and missing for deleted
    or protected tweets (then the text is empty); an `expandedUrl` that is not
    an http(s) URL is dropped rather than losing the like.
    """
    like = entry.value.get("like") if isinstance(entry.value, dict) else None
    if not isinstance(like, dict):
        return Invalid(entry.part, entry.index, None, {"like": ['Not a {"like": {...}} object.']}, entry.value)
    tweet_id = like.get("tweetId")
    if not isinstance(tweet_id, str):
        problem = "Missing." if tweet_id is None else "Not a string (an id must be quoted: numbers lose digits)."
        return Invalid(entry.part, entry.index, None, {"tweetId": [problem]}, entry.value)
    if not is_tweet_id(tweet_id):
        message = "Not a tweet id: a positive 64-bit integer in decimal, without leading zeros."
        return Invalid(entry.part, entry.index, tweet_id, {"tweetId": [message]}, entry.value)
    text = like.get("fullText")
    if text is not None and not isinstance(text, str):
        return Invalid(entry.part, entry.index, tweet_id, {"fullText": ["Not a string."]}, entry.value)
    capture: dict[str, Any] = {"tweetId": tweet_id, "tweetText": html.unescape(text or ""), "source": SOURCE}
    url = like.get("expandedUrl")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        capture["tweetUrl"] = url
    return capture


def status_url(tweet_id: str) -> str:
    """The URL the archive gives a like whose tweet it cannot name (deleted or protected)."""
    return f"https://twitter.com/i/web/status/{tweet_id}"


def to_like(tweet_id: str, tweet: dict[str, Any]) -> dict[str, Any]:
    """The archive entry of a stored capture; its text escaped the way the archive escapes it."""
    text = tweet.get("tweetText")
    like: dict[str, Any] = {"tweetId": tweet_id}
    if text:
        like["fullText"] = html.escape(text, quote=False)
    like["expandedUrl"] = tweet.get("tweetUrl") or status_url(tweet_id)
    return {"like": like}


def like_js_element(like: dict[str, Any]) -> str:
    """One array element laid out as X writes like.js (two-space indent, `"key" : value`)."""
    body = json.dumps(like, ensure_ascii=False, indent=2, separators=(",", " : "))
    return "  " + body.replace("\n", "\n  ")
