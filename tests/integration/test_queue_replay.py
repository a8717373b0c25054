"""The retry queue's replay: order, batches, back-off, failure, leases and overlapping runs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.opcount import count_operations
from shared.db import QUEUE, TWEETS
from shared.tweets.capture import IN_FLIGHT_LEASE, store_captures
from shared.tweets.publish import PublishFailed, TweetMessage
from shared.tweets.replay import backoff, replay_queue
from tests.support import PublishesOneByOne, decode, pull, subscribe, topic_publisher, tweet_body

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Recording:
    """The real publisher, remembering its requests and the order of what it published (and optionally slow)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.real = topic_publisher()
        self.delay = delay
        self.keys: list[str] = []
        self.requests = 0

    def publish_all(self, messages: list[TweetMessage]) -> list[str | PublishFailed]:
        """Publish for real, after an optional delay."""
        time.sleep(self.delay)
        self.requests += 1
        self.keys.extend(message.attributes["dedupKey"] for message in messages)
        return self.real.publish_all(messages)


class Unreachable(PublishesOneByOne):
    """A publisher whose every publish fails, as when Pub/Sub is down."""

    def publish(self, message: TweetMessage) -> str:
        """Fail like a publish that timed out."""
        raise PublishFailed("ServiceUnavailable: 503 connection refused")


def _enqueue(db: Any, user: str, count: int, start: datetime = T0) -> list[str]:
    """Queue `count` captures created a second apart, due once their in-flight lease ends."""
    keys = []
    for i in range(count):
        tweet = tweet_body()
        assert store_captures(db, user, [tweet], start + timedelta(seconds=i))
        keys.append(f"{user}_{tweet['tweetId']}")
    return keys


def _item(db: Any, key: str) -> dict[str, Any] | None:
    snapshot = db.collection(QUEUE).document(key).get()
    return snapshot.to_dict() if snapshot.exists else None


DUE = T0 + IN_FLIGHT_LEASE + timedelta(minutes=1)


def test_oldest_first_in_bounded_batches(db: Any, uid: str) -> None:
    """Items go out oldest capture first, at most `limit` per run."""
    keys = _enqueue(db, f"u-{uid}", 5)
    publisher = Recording()
    first = replay_queue(db, publisher, 5, DUE, limit=3)
    second = replay_queue(db, publisher, 5, DUE, limit=3)
    assert first.published == keys[:3] and second.published == keys[3:]
    assert publisher.keys == keys and publisher.requests == 2  # one Publish request a run
    assert all(_item(db, key) is None for key in keys)
    tweet = db.collection(TWEETS).document(keys[0]).get().to_dict()
    assert tweet["pubsubMessageId"] and tweet["publishedAt"] is not None


def test_replayed_message_is_the_capture_message(db: Any, uid: str) -> None:
    """A replayed message has the capture's body and attributes, captureDate of the capture day."""
    subscription = subscribe(f"replay-{uid}")
    (key,) = _enqueue(db, f"u-{uid}", 1)
    replay_queue(db, Recording(), 5, DUE)
    (message,) = pull(subscription, expect=1)
    body = decode(message)
    assert message.attributes["dedupKey"] == key and body["attributes"] == dict(message.attributes)
    assert message.attributes["captureDate"] == T0.date().isoformat()
    assert body["data"] == db.collection(TWEETS).document(key).get().get("rawData")


def test_a_like_replayed_after_a_re_like_carries_its_own_body(db: Any, uid: str) -> None:
    """Liked, unliked and liked again while Pub/Sub was down: each event goes out with the body it was stored with."""
    from shared.tweets.likes import unlike

    subscription = subscribe(f"replay-relike-{uid}")
    user, first = f"u-{uid}", tweet_body(tweetText="as first liked")
    assert store_captures(db, user, [first], T0)
    assert unlike(db, Unreachable(), user, first["tweetId"], T0 + timedelta(seconds=1)) == "unliked"
    again = {**first, "tweetText": "as liked again"}
    assert store_captures(db, user, [again], T0 + timedelta(seconds=2))
    key = f"{user}_{first['tweetId']}"
    assert db.collection(TWEETS).document(key).get().get("rawData")["tweetText"] == "as liked again"
    assert len(replay_queue(db, Recording(), 5, DUE).published) == 3
    bodies = {int(m.attributes["sequence"]): decode(m)["data"] for m in pull(subscription, expect=3)}
    assert bodies[0]["tweetText"] == "as first liked" and bodies[2]["tweetText"] == "as liked again"
    assert "unlikedAt" in bodies[1]


def test_a_like_whose_tweet_lost_its_body_still_goes_out(db: Any, uid: str) -> None:
    """A tweet document without `rawData` (edited by hand): the like goes out with the tweet id it still has."""
    from google.cloud import firestore

    subscription = subscribe(f"replay-bare-{uid}")
    (key,) = _enqueue(db, f"u-{uid}", 1)
    db.collection(TWEETS).document(key).update({"rawData": firestore.DELETE_FIELD})
    assert replay_queue(db, Recording(), 5, DUE).published == [key]
    (message,) = pull(subscription, expect=1)
    assert decode(message)["data"] == {"tweetId": message.attributes["tweetId"]}


def test_a_like_whose_tweet_is_gone_is_failed_not_stuck(db: Any, uid: str) -> None:
    """A like's item names its tweet; if that document is missing, the item is failed and the others go on."""
    lost, kept = _enqueue(db, f"u-{uid}", 2)
    db.collection(TWEETS).document(lost).delete()
    report = replay_queue(db, Recording(), 5, DUE)
    assert report.failed == [lost] and report.published == [kept]
    assert _item(db, lost)["status"] == "failed" and "missing" in _item(db, lost)["errorMessage"]


def test_failures_back_off_then_fail_keeping_the_error(db: Any, uid: str) -> None:
    """Each failure pushes nextAttemptAt out exponentially; after MAX attempts the item is `failed`."""
    (key,) = _enqueue(db, f"u-{uid}", 1)
    now = DUE
    for attempt in range(1, 4):
        report = replay_queue(db, Unreachable(), 3, now)
        item = _item(db, key)
        assert item["attempts"] == attempt and "ServiceUnavailable" in item["errorMessage"]
        if attempt < 3:
            assert report.retried == [key] and item["status"] == "retrying"
            assert item["nextAttemptAt"] == now + backoff(attempt)
            # Not due before its back-off ends.
            assert replay_queue(db, Unreachable(), 3, item["nextAttemptAt"] - timedelta(seconds=1)).retried == []
            now = item["nextAttemptAt"]
        else:
            assert report.failed == [key] and item["status"] == "failed"
    # A failed item is kept for inspection and never picked again.
    assert replay_queue(db, Recording(), 3, now + timedelta(days=2)).published == []
    assert _item(db, key)["status"] == "failed"


def test_backoff_doubles_up_to_a_cap() -> None:
    """5 min, 10, 20, 40… capped at 6 h."""
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert backoff(30) == timedelta(hours=6)


def test_a_failed_publish_backs_off_every_item_it_carried(db: Any, uid: str) -> None:
    """Pub/Sub down: the run's items were attempted together; each pays one attempt and backs off."""
    keys = _enqueue(db, f"u-{uid}", 3)
    assert replay_queue(db, Unreachable(), 5, DUE).retried == keys
    items = [_item(db, key) for key in keys]
    assert [(item["attempts"], item["nextAttemptAt"]) for item in items] == [(1, DUE + backoff(1))] * 3


def test_overlapping_runs_never_publish_an_item_twice(db: Any, uid: str) -> None:
    """Two replays over the same queue at once: every item published exactly once in all."""
    subscription = subscribe(f"overlap-{uid}")
    keys = _enqueue(db, f"u-{uid}", 12)
    publishers = [Recording(delay=0.05), Recording(delay=0.05)]
    reports: list[Any] = [None, None]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        reports[i] = replay_queue(db, publishers[i], 5, DUE)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    published = reports[0].published + reports[1].published
    assert sorted(published) == sorted(keys)
    assert set(reports[0].published).isdisjoint(reports[1].published)
    assert reports[0].skipped or reports[1].skipped  # they really overlapped
    messages = pull(subscription, expect=len(keys))
    assert sorted(m.attributes["dedupKey"] for m in messages) == sorted(keys)


def test_an_empty_queue_costs_one_query(backends: Any) -> None:
    """Nothing due: one RunQuery (one billed read) and no writes."""
    from shared import clients

    db = clients.firestore_client()
    counter = count_operations(db)
    report = replay_queue(db, Unreachable(), 5, DUE)
    assert report.summary() == {"published": 0, "retried": 0, "failed": 0, "skipped": 0}
    assert counter.snapshot() == {"rpc:RunQuery": 1, "reads": 1}


def test_items_in_their_in_flight_lease_are_left_alone(db: Any, uid: str) -> None:
    """A capture still publishing (within its lease) is not replayed under it."""
    keys = _enqueue(db, f"u-{uid}", 1)
    assert replay_queue(db, Recording(), 5, T0 + timedelta(seconds=30)).published == []
    assert replay_queue(db, Recording(), 5, DUE).published == keys
