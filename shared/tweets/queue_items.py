"""A user's queue items: what has not reached the topic yet, and why; and failed items given another run.

An item's `status` says where the replay stands with it:

- `pending`: not tried by the replay yet (`attempts` 0). Its capture's own publish may
  have failed (`lastError` says why); the next replay run at or after `nextAttemptAt`
  publishes it.
- `retrying`: the replay has tried it at least once (`attempts` >= 1) and will try
  again at `nextAttemptAt` (or is trying it right now).
- `failed`: the replay gave up after MAX_RETRY_ATTEMPTS attempts; kept, with its
  last error, until the owner retries it.

A page counts against the user's read budget (in functions/queue_status.py); a
retry reads one document per failed item it resets, which are few and each came
from an outage, not from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.db import QUEUE, TWEETS, bounded
from shared.tweets.likes import Cursor, iso
from shared.tweets.outbox import Event
from shared.tweets.publish import LIKED

FAILED = "failed"
# Firestore's `in` takes at most 30 values.
_IN_LIMIT = 30
# Writes per commit.
_COMMIT_WRITES = 500


def _item(snapshot: Any) -> dict[str, Any]:
    item = snapshot.to_dict()
    status = item.get("status") or "pending"
    return {
        "tweetId": item["tweetId"],
        "event": item.get("event") or LIKED,
        "sequence": item.get("sequence") or 0,
        "replay": bool(item.get("replay")),
        "status": status,
        "attempts": item.get("attempts") or 0,
        "lastError": item.get("errorMessage"),
        "nextAttemptAt": None if status == FAILED else iso(item.get("nextAttemptAt")),
        "createdAt": iso(item.get("createdAt")),
    }


def queue_page(
    db: Any, user_id: str, status: str | None, limit: int, cursor: Cursor | None
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of the user's queue items (in `status`, when given), oldest first, and the next page's cursor.

    One query: `userId ==` (and `status ==`) ordered by `createdAt` then document id,
    served by the composite indexes (userId, createdAt) and (userId, status, createdAt).
    """
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds
    from google.cloud import firestore
    from google.cloud.firestore_v1.field_path import FieldPath

    query = db.collection(QUEUE).where(filter=firestore.FieldFilter("userId", "==", user_id))
    if status is not None:
        query = query.where(filter=firestore.FieldFilter("status", "==", status))
    query = query.order_by("createdAt").order_by(FieldPath.document_id())
    if cursor is not None:
        after = {
            "createdAt": DatetimeWithNanoseconds.from_rfc3339(cursor.created_at),
            FieldPath.document_id(): db.collection(QUEUE).document(cursor.doc_id),
        }
        query = query.start_after(after)
    snapshots = list(query.limit(limit + 1).get(**bounded(10.0)))
    page = snapshots[:limit]
    last = page[-1] if len(snapshots) > limit else None
    return [_item(s) for s in page], Cursor(last.get("createdAt").rfc3339(), 0, last.id) if last else None


def _failed_items(db: Any, user_id: str, tweet_ids: Sequence[str] | None) -> list[Any]:
    """The user's failed items: all of them, or those of these tweets (one query per 30 ids)."""
    from google.cloud import firestore

    query = (
        db.collection(QUEUE)
        .where(filter=firestore.FieldFilter("userId", "==", user_id))
        .where(filter=firestore.FieldFilter("status", "==", FAILED))
    )
    if tweet_ids is None:
        return list(query.get(**bounded(10.0)))
    distinct = sorted(set(tweet_ids))
    found = []
    for start in range(0, len(distinct), _IN_LIMIT):
        chunk = distinct[start : start + _IN_LIMIT]
        found += query.where(filter=firestore.FieldFilter("tweetId", "in", chunk)).get(**bounded(10.0))
    return found


def retry_failed(db: Any, user_id: str, tweet_ids: Sequence[str] | None, now: datetime) -> int:
    """Make the user's failed items (all, or those of `tweet_ids`) pending again, due now, attempts reset.

    The next replay run publishes them. A failed like also stops being `failed` on its
    tweet (lookup and listing say `queued` again). Returns how many items were reset.
    """
    snapshots = _failed_items(db, user_id, tweet_ids)
    batch, writes = db.batch(), 0
    for snapshot in snapshots:
        batch.update(snapshot.reference, {"status": "pending", "attempts": 0, "nextAttemptAt": now, "updatedAt": now})
        event = Event.from_queue_item(snapshot.to_dict())
        writes += 1
        if event.event == LIKED and not event.replay:
            batch.update(db.collection(TWEETS).document(event.key), {"failedSeq": None})
            writes += 1
        if writes >= _COMMIT_WRITES - 1:
            batch.commit(**bounded())
            batch, writes = db.batch(), 0
    if writes:
        batch.commit(**bounded())
    return len(snapshots)
