"""The tweet message and its publication to Pub/Sub, bounded in time.

The library's default publish retry runs for up to 10 minutes, and its batching
publisher's futures, when they time out, leave the attempt running, so a "failed"
publish could still land much later. Here one Publish request carries the
messages and its retry carries the deadline: when `publish` raises, the attempt
is really over (and a late duplicate would still carry the same dedupKey).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from shared import __version__
from shared.db import Deadline, dedup_key

if TYPE_CHECKING:
    from google.cloud.pubsub_v1 import PublisherClient

    from shared.clients import LazyClient
    from shared.config import Settings

SOURCE = "chrome-extension"


class PublishFailed(Exception):
    """Pub/Sub did not accept the message within the deadline."""


@dataclass(frozen=True)
class TweetMessage:
    """The bytes and attributes of one tweet message."""

    data: bytes
    attributes: dict[str, str]


LIKED, UNLIKED = "liked", "unliked"


def build_message(
    user_id: str,
    data: dict[str, Any],
    capture_date: str,
    event: str = LIKED,
    sequence: int = 0,
    source: str | None = None,
    replay: bool = False,
) -> TweetMessage:
    """A message: `{"data": ..., "attributes": {...}}`, the same attributes on the message itself.

    `data` is the captured tweet for `liked`, `{"tweetId", "unlikedAt"}` for `unliked`.
    Every publish of one event carries the same attributes; `sequence` orders the
    events of one dedupKey (0 for the first like, one more for each unlike or re-like),
    so a consumer keeps, per dedupKey, the event with the highest sequence. A message
    sent again on the owner's request also carries `replay: "true"`.
    """
    attributes = {
        "userId": user_id,
        "tweetId": data["tweetId"],
        "captureDate": capture_date,
        "source": source or data.get("source") or SOURCE,
        "version": __version__,
        "event": event,
        "sequence": str(sequence),
        "dedupKey": dedup_key(user_id, data["tweetId"]),
    }
    if replay:
        attributes["replay"] = "true"
    body = {"data": data, "attributes": attributes}
    return TweetMessage(json.dumps(body, ensure_ascii=False).encode("utf-8"), attributes)


class Publisher(Protocol):
    """Anything that can publish tweet messages and return their message ids."""

    def publish_all(self, messages: Sequence[TweetMessage]) -> list[str | PublishFailed]:
        """Publish `messages` together; each one's message id, or the PublishFailed that ended it."""
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


def topic_path(project_id: str, topic: str) -> str:
    """The full resource name of a topic."""
    return f"projects/{project_id}/topics/{topic}"


class PubSubPublisher:
    """Publishes to one topic with a client it is given, dropping that client after a failure."""

    def __init__(self, client: LazyClient[PublisherClient], topic: str, timeout_seconds: float) -> None:
        self.client = client
        self.topic_path = topic
        self.timeout_seconds = timeout_seconds

    @classmethod
    def for_settings(cls, client: LazyClient[PublisherClient], settings: Settings) -> PubSubPublisher:
        """A publisher to the configured topic with the configured deadline."""
        return cls(client, topic_path(settings.project_id, settings.pubsub_topic), settings.publish_timeout_seconds)

    def publish_all(self, messages: Sequence[TweetMessage]) -> list[str | PublishFailed]:
        """Send every message in one Publish request, bounded by the timeout; their ids, or the failure of all.

        The high-level client's `publish()` queues each message for a background
        batching thread and hands back a future; here the request is made directly
        (the generated client's `publish`, which the high-level one shadows): one
        round trip for a batch of 100 as for one capture, nothing left in flight
        when the call returns. Pub/Sub takes up to 1,000 messages and 10 MB a
        request; a batch capture sends at most 100 and its body is at most 1 MiB.
        With Pub/Sub down, a hundred messages fail together after about
        PUBLISH_TIMEOUT_SECONDS.
        """
        from google.pubsub_v1 import PublisherClient as GeneratedPublisher
        from google.pubsub_v1.types import PublishRequest

        if not messages:
            return []
        client = self.client.get()
        # Built as one protobuf message and handed over wrapped: the flattened arguments would be
        # converted message by message through proto-plus. Public names only: `pb()` and `wrap()` are
        # proto-plus's documented passage between a message class and its protobuf, and the generated
        # client's `publish` is its public method.
        request = PublishRequest.pb()(topic=self.topic_path)
        for message in messages:
            request.messages.add(data=message.data, attributes=message.attributes)
        try:
            response = GeneratedPublisher.publish(
                client,
                request=PublishRequest.wrap(request),
                retry=_bounded_retry(self.timeout_seconds),
                timeout=Deadline(self.timeout_seconds),
            )
            ids = list(response.message_ids)
            if len(ids) != len(messages):
                raise RuntimeError(f"Pub/Sub answered {len(ids)} message ids for {len(messages)} messages")
        except Exception as exc:  # noqa: BLE001 - any failure ends this attempt for all of them
            self.client.discard(client)
            failure = _failure(exc)
            return [failure for _ in messages]
        return ids


def _failure(exc: BaseException) -> PublishFailed:
    failure = PublishFailed(f"{type(exc).__name__}: {exc}"[:500])
    failure.__cause__ = exc
    return failure
