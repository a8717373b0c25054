"""Realistic request bodies for tests, the benchmark and the local runner."""

from __future__ import annotations

import base64
import random
import uuid
from typing import Any


def new_email(prefix: str = "user") -> str:
    """A unique e-mail address."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def tweet_id() -> str:
    """A random 19-digit tweet id (tweet ids are positive 64-bit integers)."""
    return str(random.randint(10**18, 2**63 - 1))


def tweet_body(**overrides: Any) -> dict[str, Any]:
    """A capture body as the extension's content script builds it from the page."""
    tid = overrides.pop("tweetId", None) or tweet_id()
    thread = tid if isinstance(tid, str) and tid.isdigit() else tweet_id()
    body = {
        "tweetId": tid,
        "tweetUrl": f"https://x.com/someone/status/{tid}",
        "tweetText": "A liked tweet — with unicode ✓ and a link https://example.com/article",
        "authorUsername": "someone",
        "authorDisplayName": "Some One",
        "timestamp": "2025-11-19T10:30:00.000Z",
        "capturedAt": 1763548200000,
        "isReply": True,
        "isRetweet": False,
        "isQuoteTweet": False,
        "isThread": False,
        "threadId": thread,
        "parentTweetId": None,
        "conversationId": thread,
        "hasImage": False,
        "hasVideo": False,
        "hasLink": True,
    }
    body.update(overrides)
    return body


def scheduler_tick(project: str) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a Cloud Scheduler tick as Eventarc delivers it: a binary-mode Pub/Sub CloudEvent."""
    from cloudevents.conversion import to_binary
    from cloudevents.http import CloudEvent

    event = CloudEvent(
        {
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": f"//pubsub.googleapis.com/projects/{project}/topics/tweet-capture-retry-tick",
            "specversion": "1.0",
        },
        {
            "message": {"data": base64.b64encode(b"tick").decode(), "messageId": uuid.uuid4().hex, "attributes": {}},
            "subscription": f"projects/{project}/subscriptions/eventarc-tick",
        },
    )
    headers, body = to_binary(event)
    return dict(headers), body
