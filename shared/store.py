"""Firestore collection names and the call options every request-path call uses.

Every call on a request path is bounded: the library's default retry keeps going
for minutes when Firestore is unreachable, and a blocked request is worse than a
503 the client can retry.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

USERS = "users"
EMAILS = "emails"
SESSIONS = "sessions"
TWEETS = "tweets"
QUEUE = "queue"
RATE_LIMITS = "rateLimits"

CALL_DEADLINE_SECONDS = 5.0


@functools.cache
def _retry(deadline: float) -> Any:
    from google.api_core.retry import Retry, if_transient_error

    return Retry(initial=0.05, maximum=0.5, multiplier=2.0, timeout=deadline, predicate=if_transient_error)


def bounded(deadline: float = CALL_DEADLINE_SECONDS) -> dict[str, Any]:
    """Keyword arguments (`retry`, `timeout`) that bound one Firestore call to `deadline` seconds."""
    return {"retry": _retry(deadline), "timeout": deadline}


def key_digest(value: str) -> str:
    """A document-id-safe digest of a value (e-mails, addresses) that may hold '/' or be long."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def dedup_key(user_id: str, tweet_id: str) -> str:
    """The id of a capture: tweet document id, queue item id and the message's dedupKey."""
    return f"{user_id}_{tweet_id}"
