"""Firestore collection names and the call options every request-path call uses.

Every call on a request path is bounded: the library's default retry keeps going
for minutes when Firestore is unreachable, and a blocked request is worse than a
503 the client can retry.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from typing import Any

USERS = "users"
EMAILS = "emails"
SESSIONS = "sessions"
TWEETS = "tweets"
QUEUE = "queue"
RATE_LIMITS = "rateLimits"

CALL_DEADLINE_SECONDS = 5.0
# How often a write conditioned on what was just read is tried again when another request changed it first.
MAX_CONFLICT_ROUNDS = 10


@functools.cache
def _retry(deadline: float) -> Any:
    from google.api_core.retry import Retry, if_transient_error

    return Retry(initial=0.05, maximum=0.5, multiplier=2.0, timeout=deadline, predicate=if_transient_error)


class Deadline:
    """An RPC timeout counted down from a call's first attempt that never starts over.

    api_core turns a number into `TimeToDeadlineTimeout`, which gives an attempt the
    whole timeout again once less than a second is left: a call that failed fast and
    then hung could last almost twice its deadline. This one gives each attempt only
    what is left of `seconds` (the retry stops at the same moment). Every bounded
    Firestore call and every publish uses it.

    One is made for each call, right where the call is made, and the time runs from
    then: a query stream that the library reopens after an error applies the same
    object again, and the reopened stream gets only what is left, not a new deadline.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def __call__(self, func: Any) -> Any:
        """Wrap one call's RPC (api_core applies a timeout object as a decorator, once per call)."""
        ends = self.ends

        @functools.wraps(func)
        def with_deadline(*args: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = max(0.01, ends - time.monotonic())
            return func(*args, **kwargs)

        return with_deadline


def bounded(deadline: float = CALL_DEADLINE_SECONDS) -> dict[str, Any]:
    """Keyword arguments (`retry`, `timeout`) that bound one Firestore call to `deadline` seconds."""
    return {"retry": _retry(deadline), "timeout": Deadline(deadline)}


def key_digest(value: str) -> str:
    """A document-id-safe digest of a value (e-mails, addresses) that may hold '/' or be long."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def derive_key(key: str, label: str) -> bytes:
    """A key for one purpose, derived from the server key with a label (HMAC-SHA256, as HKDF's expand step).

    The JWT key signs access tokens only; refresh tokens, listing cursors and audit
    digests each use their own derived key, so no value made for one purpose verifies as another.
    """
    return hmac.new(key.encode(), f"tweet-capture-api/{label}".encode(), hashlib.sha256).digest()


def dedup_key(user_id: str, tweet_id: str) -> str:
    """The id of a capture: tweet document id, queue item id and the message's dedupKey."""
    return f"{user_id}_{tweet_id}"
