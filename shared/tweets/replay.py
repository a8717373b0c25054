"""Replay the retry queue: publish tweets whose capture could not reach Pub/Sub.

A run takes a bounded batch of due items, oldest first, reads the stored tweets
of the likes among them (one batched read), claims each one with a
compare-and-set write (attempts + 1, due again only after a lease), publishes
the claimed ones together in one Publish request, as a capture does, then
records the message ids and deletes the items in one commit. Two overlapping
runs cannot both claim an item, and an item whose run crashed comes due again
when the lease runs out. When the Publish fails, every claimed item has had its
attempt and backs off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.db import QUEUE, TWEETS, bounded, dedup_key
from shared.logs import log
from shared.tweets.outbox import Event, add_settled
from shared.tweets.publish import LIKED, Publisher, PublishFailed

# One full batch capture queued during an outage is replayed by one run.
BATCH_SIZE = 100
CLAIM_LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=6)
ACTIVE = ("pending", "retrying")


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after `attempts` failures: 5 min, 10, 20, … up to 6 h."""
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


@dataclass
class ReplayReport:
    """What one replay run did."""

    published: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts for the log line."""
        return {name: len(getattr(self, name)) for name in ("published", "retried", "failed", "skipped")}


def due_items(db: Any, now: datetime, limit: int) -> list[Any]:
    """Up to `limit` queue items due by `now`, oldest capture first (one query)."""
    from google.cloud import firestore

    query = (
        db.collection(QUEUE)
        .where(filter=firestore.FieldFilter("status", "in", list(ACTIVE)))
        .where(filter=firestore.FieldFilter("nextAttemptAt", "<=", now))
        .order_by("nextAttemptAt")
        .limit(limit)
    )
    return sorted(query.get(**bounded(10.0)), key=lambda snap: (snap.get("createdAt"), snap.id))


def _claim(db: Any, snapshot: Any, now: datetime) -> bool:
    """Take the item for this run; False if another run changed it since it was read."""
    from google.api_core.exceptions import FailedPrecondition, NotFound

    try:
        snapshot.reference.update(
            {
                "status": "retrying",
                "attempts": (snapshot.get("attempts") or 0) + 1,
                "nextAttemptAt": now + CLAIM_LEASE,
                "lastAttemptAt": now,
                "updatedAt": now,
            },
            option=db.write_option(last_update_time=snapshot.update_time),
            **bounded(),
        )
    except (FailedPrecondition, NotFound):
        return False
    return True


def _fail(db: Any, snapshot: Any, attempts: int, error: str, now: datetime, max_attempts: int) -> str:
    if attempts >= max_attempts:
        update = {"status": "failed", "errorMessage": error, "failedAt": now, "updatedAt": now}
        event = Event.from_queue_item(snapshot.to_dict())
        if event.event == LIKED and not event.replay:  # lookup and listing tell `failed` from the tweet alone
            db.collection(TWEETS).document(event.key).update({"failedSeq": event.sequence}, **bounded())
    else:
        update = {
            "status": "retrying",
            "errorMessage": error,
            "nextAttemptAt": now + backoff(attempts),
            "updatedAt": now,
        }
    snapshot.reference.update(update, **bounded())
    return update["status"]


def _liked_tweets(db: Any, items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The stored tweet of each item that does not carry it, by item id: one batched read.

    A first like's body is `firstLikeData` when a re-like has replaced `rawData`
    before the first like was delivered, else `rawData`; a document with neither
    gives `{}` (the message then carries the tweet id alone).
    """
    keys = {i: dedup_key(item["userId"], item["tweetId"]) for i, item in items.items() if item.get("tweetData") is None}
    if not keys:
        return {}
    refs = [db.collection(TWEETS).document(key) for key in sorted(set(keys.values()))]
    found = db.get_all(refs, field_paths=["rawData", "firstLikeData"], **bounded(10.0))
    stored = {s.id: s.to_dict() or {} for s in found if s.exists}
    return {i: _like_body(stored[key], items[i]["sequence"]) for i, key in keys.items() if key in stored}


def _like_body(tweet: dict[str, Any], sequence: int) -> dict[str, Any]:
    """The body a like of `sequence` was stored with, from its tweet document."""
    first = tweet.get("firstLikeData") if sequence == 0 else None
    return first or tweet.get("rawData") or {}


def replay_queue(
    db: Any, publisher: Publisher, max_attempts: int, now: datetime, limit: int = BATCH_SIZE
) -> ReplayReport:
    """One replay run over the due queue items (see the module docstring)."""
    report = ReplayReport()
    due = due_items(db, now, limit)
    items = {snapshot.id: snapshot.to_dict() for snapshot in due}
    tweets = _liked_tweets(db, items)
    claimed: list[tuple[Any, int, Event]] = []
    for snapshot in due:
        attempts = (snapshot.get("attempts") or 0) + 1
        if attempts > max_attempts:
            _fail(
                db, snapshot, attempts - 1, snapshot.get("errorMessage") or "abandoned mid-attempt", now, max_attempts
            )
            report.failed.append(snapshot.id)
            continue
        if not _claim(db, snapshot, now):
            report.skipped.append(snapshot.id)
            continue
        item, tweet = items[snapshot.id], tweets.get(snapshot.id)
        if item.get("tweetData") is None and tweet is None:  # the tweet and its item are one commit: not expected
            log("ERROR", "queue item without its tweet; marked failed", dedupKey=snapshot.id)
            failed = {"status": "failed", "errorMessage": "the tweet document is missing", "failedAt": now}
            snapshot.reference.update({**failed, "updatedAt": now}, **bounded())
            report.failed.append(snapshot.id)
            continue
        claimed.append((snapshot, attempts, Event.from_queue_item(item, tweet)))
    if claimed:
        _publish(db, publisher, claimed, max_attempts, now, report)
    return report


def _publish(
    db: Any,
    publisher: Publisher,
    claimed: list[tuple[Any, int, Event]],
    max_attempts: int,
    now: datetime,
    report: ReplayReport,
) -> None:
    """Publish the claimed items together; settle the published ones in one commit, back off the others."""
    outcomes = publisher.publish_all([event.message() for _, _, event in claimed])
    published_at = datetime.now(UTC)
    batch, unsent = db.batch(), 0
    for (snapshot, attempts, event), outcome in zip(claimed, outcomes, strict=True):
        if isinstance(outcome, PublishFailed):
            unsent += 1
            status = _fail(db, snapshot, attempts, str(outcome), now, max_attempts)
            (report.failed if status == "failed" else report.retried).append(snapshot.id)
        else:
            add_settled(db, batch, event, outcome, published_at)
            report.published.append(snapshot.id)
    if unsent:
        log("WARNING", "replay publish failed; the items back off", count=unsent, error=str(outcomes[0])[:200])
    if unsent < len(claimed):
        batch.commit(**bounded())
