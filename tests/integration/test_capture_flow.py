"""The capture write order against the real emulators, including a process dying between steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.db import QUEUE, TWEETS
from shared.tweets.capture import IN_FLIGHT_LEASE, capture_tweet, capture_tweets, store_captures
from shared.tweets.publish import TweetMessage, build_message
from shared.tweets.replay import CLAIM_LEASE, replay_queue
from tests.support import PublishesOneByOne, decode, pull, subscribe, topic_publisher, tweet_body


class ProcessDied(BaseException):
    """Stands for the instance being killed: nothing after it runs, no handler catches it."""


class DiesAround(PublishesOneByOne):
    """The real publisher, with the process dying just before or just after the publish."""

    def __init__(self, when: str) -> None:
        self.real = topic_publisher()
        self.when = when

    def publish(self, message: TweetMessage) -> str:
        """Die before publishing, or publish for real and die before anything is recorded."""
        if self.when == "before":
            raise ProcessDied
        self.real.publish_all([message])
        raise ProcessDied


@pytest.fixture(name="subscription")
def _subscription(uid: str) -> str:
    return subscribe(f"flow-{uid}")


def _state(db: Any, key: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    tweet = db.collection(TWEETS).document(key).get().to_dict()
    item = db.collection(QUEUE).document(key).get()
    return tweet, item.to_dict() if item.exists else None


def test_published_capture_is_settled(db: Any, subscription: str, uid: str) -> None:
    """Published: the tweet has its message id and publishedAt, the queue item is gone, one message."""
    now = datetime.now(UTC)
    tweet = tweet_body()
    result = capture_tweet(db, topic_publisher(), f"u-{uid}", tweet, now)
    assert result.status == "published" and result.message_id
    stored, item = _state(db, f"u-{uid}_{tweet['tweetId']}")
    assert stored["pubsubMessageId"] == result.message_id and stored["publishedAt"] is not None
    assert stored["rawData"] == tweet and item is None
    (message,) = pull(subscription, expect=1)
    assert message.message_id == result.message_id


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_process_dying_around_the_publish_loses_nothing(db: Any, subscription: str, uid: str, when: str) -> None:
    """Dying before or after publishing leaves a queue item the replay publishes once its lease ends."""
    now = datetime.now(UTC)
    user_id, tweet = f"u-{uid}", tweet_body()
    key = f"{user_id}_{tweet['tweetId']}"
    with pytest.raises(ProcessDied):
        capture_tweet(db, DiesAround(when), user_id, tweet, now)
    stored, item = _state(db, key)
    assert stored["pubsubMessageId"] is None and item["status"] == "pending"

    # A replay during the in-flight lease leaves the capture alone...
    early = replay_queue(db, topic_publisher(), 5, now + timedelta(seconds=1))
    assert key not in early.published
    # ...and one after it publishes the tweet.
    later = replay_queue(db, topic_publisher(), 5, now + IN_FLIGHT_LEASE + timedelta(seconds=1))
    assert key in later.published
    stored, item = _state(db, key)
    assert stored["pubsubMessageId"] and item is None
    messages = [m for m in pull(subscription, expect=1 if when == "before" else 2) if m.attributes["dedupKey"] == key]
    # Dying after the publish means the replay sends it again: same body, same dedupKey.
    assert len(messages) == (1 if when == "before" else 2)
    assert all(decode(m) == decode(messages[0]) for m in messages)


def test_a_process_dying_right_after_storing_loses_nothing(db: Any, subscription: str, uid: str) -> None:
    """Step 1 alone (tweet and queue item written, nothing else) is enough for the replay."""
    now = datetime.now(UTC)
    user_id, tweet = f"u-{uid}", tweet_body()
    assert store_captures(db, user_id, [tweet], now)
    report = replay_queue(db, topic_publisher(), 5, now + IN_FLIGHT_LEASE + timedelta(seconds=1))
    assert f"{user_id}_{tweet['tweetId']}" in report.published
    assert len(pull(subscription, expect=1)) == 1


def test_a_replay_dying_mid_attempt_is_picked_up_after_its_lease(db: Any, subscription: str, uid: str) -> None:
    """A replay run that dies after claiming an item leaves it to the next run once the claim lease ends."""
    now = datetime.now(UTC) + IN_FLIGHT_LEASE + timedelta(seconds=1)
    user_id, tweet = f"u-{uid}", tweet_body()
    key = f"{user_id}_{tweet['tweetId']}"
    assert store_captures(db, user_id, [tweet], now - IN_FLIGHT_LEASE - timedelta(seconds=1))
    with pytest.raises(ProcessDied):
        replay_queue(db, DiesAround("before"), 5, now)
    _, item = _state(db, key)
    assert item["attempts"] == 1
    assert key not in replay_queue(db, topic_publisher(), 5, now + timedelta(seconds=5)).published
    again = replay_queue(db, topic_publisher(), 5, now + CLAIM_LEASE + timedelta(seconds=1))
    assert key in again.published
    assert len(pull(subscription, expect=1)) == 1


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_batch_dying_around_the_publish_loses_nothing(db: Any, subscription: str, uid: str, when: str) -> None:
    """A batch whose process dies before or after publishing leaves every item to the replay, none lost."""
    now = datetime.now(UTC)
    user_id, tweets = f"u-{uid}", [tweet_body() for _ in range(5)]
    keys = {f"{user_id}_{t['tweetId']}" for t in tweets}
    with pytest.raises(ProcessDied):
        capture_tweets(db, DiesAround(when), user_id, tweets, now)
    for key in keys:
        stored, item = _state(db, key)
        assert stored["pubsubMessageId"] is None and item["status"] == "pending"
    report = replay_queue(db, topic_publisher(), 5, now + IN_FLIGHT_LEASE + timedelta(seconds=1))
    assert set(report.published) == keys
    for key in keys:
        stored, item = _state(db, key)
        assert stored["pubsubMessageId"] and item is None
    # Dying after the first publish (DiesAround publishes one message, then dies) sends that one twice.
    messages = pull(subscription, expect=len(keys) + (1 if when == "after" else 0))
    assert {m.attributes["dedupKey"] for m in messages} == keys
    assert len(messages) == len(keys) + (1 if when == "after" else 0)


def test_a_batch_dying_before_settling_is_replayed(db: Any, subscription: str, uid: str) -> None:
    """Published but never settled (the process died at the last step): the replay sends each again, same key."""
    now = datetime.now(UTC)
    user_id, tweets = f"u-{uid}", [tweet_body() for _ in range(3)]
    stored = store_captures(db, user_id, tweets, now)
    assert [event.data for event in stored] == tweets
    # step 2 done, step 3 lost
    topic_publisher().publish_all([build_message(user_id, tweet, now.date().isoformat()) for tweet in tweets])
    report = replay_queue(db, topic_publisher(), 5, now + IN_FLIGHT_LEASE + timedelta(seconds=1))
    assert len(report.published) == 3
    messages = pull(subscription, expect=6)
    assert sorted(m.attributes["dedupKey"] for m in messages) == sorted(
        2 * [f"{user_id}_{t['tweetId']}" for t in tweets]
    )


def test_storing_a_batch_skips_what_is_already_captured(db: Any, uid: str) -> None:
    """Tweets captured before are left as they were; the new ones of the same batch are created with queue items."""
    now = datetime.now(UTC)
    user_id = f"u-{uid}"
    old = [tweet_body() for _ in range(2)]
    assert [event.data for event in store_captures(db, user_id, old, now)] == old
    new = [tweet_body() for _ in range(3)]
    mixed = [new[0], old[0], new[1], old[1], new[2]]
    assert [event.data for event in store_captures(db, user_id, mixed, now)] == new
    assert store_captures(db, user_id, mixed, now) == []
