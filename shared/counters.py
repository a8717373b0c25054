"""Fixed-window counters in Firestore, shared by every instance: the mechanism under every limit.

A window is one counter document per subject and period (its id carries a digest of
the subject and the window's start), with `expireAt` for the TTL policy. Every limit
reads its counters before it adds to them, so a refused request writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.db import RATE_LIMITS, bounded, key_digest

DAY_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class Window:
    """One fixed window: the counter document's id and when the window ends."""

    doc_id: str
    ends_at: datetime


def window(prefix: str, subject: str, now: datetime, seconds: int) -> Window:
    """The `seconds`-long window of `subject` (under `prefix`) that `now` falls in."""
    start = int(now.timestamp()) // seconds * seconds
    ends = datetime.fromtimestamp(start + seconds, tz=now.tzinfo)
    return Window(f"{prefix}-{key_digest(subject)[:40]}-{start}", ends)


def retry_after(window: Window, now: datetime) -> int:
    """Whole seconds until `window` ends, at least 1 (a Retry-After value)."""
    return max(1, int((window.ends_at - now).total_seconds() + 0.999))


def counter(db: Any, window: Window) -> Any:
    """The counter document of `window`."""
    return db.collection(RATE_LIMITS).document(window.doc_id)


def add(db: Any, batch: Any, window: Window, amount: int = 1, **fields: Any) -> None:
    """Add `amount` to a window's counter in `batch`, creating it (with its TTL field) if need be."""
    from google.cloud import firestore

    batch.set(
        counter(db, window),
        {"count": firestore.Increment(amount), **fields, "expireAt": window.ends_at + timedelta(hours=1)},
        merge=True,
    )


def read(db: Any, windows: list[Window]) -> list[Any]:
    """The counter documents of `windows`, in order, in one batched read (a missing one reads as not existing)."""
    refs = [counter(db, w) for w in windows]
    found = {snapshot.id: snapshot for snapshot in db.get_all(refs, **bounded())}
    return [found[w.doc_id] for w in windows]


def count_of(snapshot: Any) -> int:
    """The count a counter document holds (0 when it does not exist)."""
    return (snapshot.get("count") or 0) if snapshot.exists else 0


def new_totals(commit_results: Any) -> list[int]:
    """The counts after a commit of `add`s, in the order they were added (their increments' results)."""
    return [result.transform_results[0].integer_value for result in commit_results]
