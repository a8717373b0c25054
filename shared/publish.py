"""The tweet message and its publication to Pub/Sub, bounded in time.

The library's default publish retry runs for up to 10 minutes and a future that
timed out is not cancelled, so a "failed" publish could still land much later.
Here the retry itself carries the deadline: when `publish` raises, the attempt is
really over (and a late duplicate would still carry the same dedupKey).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Protocol

from shared import __version__, clients
from shared.store import dedup_key

SOURCE = "chrome-extension"


class PublishFailed(Exception):
    """Pub/Sub did not accept the message within the deadline."""


@dataclass(frozen=True)
class TweetMessage:
    """The bytes and attributes of one tweet message."""

    data: bytes
    attributes: dict[str, str]


def build_message(user_id: str, tweet: dict[str, Any], capture_date: str) -> TweetMessage:
    """The message for a capture: `{"data": tweet, "attributes": {...}}` plus the same attributes."""
    attributes = {
        "userId": user_id,
        "tweetId": tweet["tweetId"],
        "captureDate": capture_date,
        "source": SOURCE,
        "version": __version__,
        "dedupKey": dedup_key(user_id, tweet["tweetId"]),
    }
    body = {"data": tweet, "attributes": attributes}
    return TweetMessage(json.dumps(body, ensure_ascii=False).encode("utf-8"), attributes)


class Publisher(Protocol):
    """Anything that can publish a tweet message and return its message id."""

    def publish(self, message: TweetMessage) -> str:
        """Publish `message`; raise PublishFailed when it did not go through."""
        ...


@functools.cache
def _bounded_retry(deadline: float) -> Any:
    """The library's transient-error retry, ending at `deadline` seconds (built once per deadline)."""
    from google.api_core import exceptions as gexc
    from google.api_core.retry import Retry, if_exception_type

    transient = if_exception_type(
        gexc.Aborted,
        gexc.DeadlineExceeded,
        gexc.InternalServerError,
        gexc.ResourceExhausted,
        gexc.ServiceUnavailable,
        gexc.Unknown,
    )
    return Retry(initial=0.1, maximum=1.0, multiplier=2.0, timeout=deadline, predicate=transient)


class PubSubPublisher:
    """Publishes to the configured topic with the instance's shared client."""

    def __init__(self, project_id: str, topic: str, timeout_seconds: float) -> None:
        self.topic_path = f"projects/{project_id}/topics/{topic}"
        self.timeout_seconds = timeout_seconds

    def publish(self, message: TweetMessage) -> str:
        """Publish and wait at most the timeout; PublishFailed (attempt over) otherwise."""
        client = clients.publisher_client()
        retry = _bounded_retry(self.timeout_seconds)
        try:
            future = client.publish(
                self.topic_path, message.data, retry=retry, timeout=self.timeout_seconds, **message.attributes
            )
            return future.result(timeout=self.timeout_seconds + 1.0)
        except Exception as exc:
            clients.discard_publisher(client)
            raise PublishFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc
