"""Rate limits shared by every instance, as fixed-window counters in Firestore.

Captures: one commit per request adds the request's tweets to the user's minute
window (single captures and batch items have one each) and to the user's UTC-day
window, and returns both new totals (increments whose results the commit returns,
so there is no read). Tweets over either limit are refused and given back in a
second commit, so the counters hold what was accepted. Failed logins: one batched
read of two counters per login (this address's and this e-mail's), and one batched
write of two increments per failure. Counter documents carry `expireAt` for the TTL
policy.

Failed logins are limited so that a stranger can slow down an owner but never lock
them out (see the README's "Failed logins"):
- per client address (IPv4 address, IPv6 /64), in a 15-minute window: the first 5
  failures are free; then each next attempt waits 1, 2, 4, 8, 16, then 30 s after
  the last failure; at 20 failures the address is refused until the window ends;
- per e-mail, from all addresses together, in the same window: only from the 100th
  failure on (five times what one address may ever make) each next attempt waits
  1, 2, 4, ... up to 60 s after the last failure. Never a flat lock: the owner's
  correct password gets through within a minute of the last failed guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import errors
from shared.addresses import address_bucket
from shared.store import RATE_LIMITS, bounded, key_digest

LOGIN_WINDOW_SECONDS = 15 * 60
DAY_SECONDS = 24 * 60 * 60
ADDRESS_FREE_FAILURES = 5
ADDRESS_MAX_DELAY_SECONDS = 30
ADDRESS_BLOCK_FAILURES = 20
EMAIL_FREE_FAILURES = 100
EMAIL_MAX_DELAY_SECONDS = 60


@dataclass(frozen=True)
class Window:
    """One fixed window: the counter document's id and when the window ends."""

    doc_id: str
    ends_at: datetime


def _window(prefix: str, subject: str, now: datetime, seconds: int) -> Window:
    start = int(now.timestamp()) // seconds * seconds
    ends = datetime.fromtimestamp(start + seconds, tz=now.tzinfo)
    return Window(f"{prefix}-{key_digest(subject)[:40]}-{start}", ends)


def _retry_after(window: Window, now: datetime) -> int:
    return max(1, int((window.ends_at - now).total_seconds() + 0.999))


def _count(db: Any, batch: Any, window: Window, amount: int = 1) -> None:
    """Add `amount` to a window's counter in `batch`, creating it (with its TTL field) if need be."""
    from google.cloud import firestore

    batch.set(
        db.collection(RATE_LIMITS).document(window.doc_id),
        {"count": firestore.Increment(amount), "expireAt": window.ends_at + timedelta(hours=1)},
        merge=True,
    )


@dataclass(frozen=True)
class Grant:
    """How many of the asked-for captures the user's budget admits, and when to send the rest."""

    granted: int
    retry_after: int | None = None


@dataclass(frozen=True)
class CaptureBudget:
    """A user's capture limits: `per_minute` in the minute window named `scope`, `per_day` across all scopes."""

    scope: str
    per_minute: int
    per_day: int


def reserve_captures(db: Any, user_id: str, count: int, budget: CaptureBudget, now: datetime) -> Grant:
    """Count `count` captures against the user's minute and day windows; how many fit (the first ones)."""
    minute = _window(budget.scope, user_id, now, 60)
    day = _window("capture-day", user_id, now, DAY_SECONDS)
    batch = db.batch()
    _count(db, batch, minute, count)
    _count(db, batch, day, count)
    totals = [result.transform_results[0].integer_value for result in batch.commit(**bounded())]
    room = {minute: budget.per_minute - (totals[0] - count), day: budget.per_day - (totals[1] - count)}
    granted = max(0, min(count, *room.values()))
    if granted == count:
        return Grant(count)
    refund = db.batch()
    _count(db, refund, minute, granted - count)
    _count(db, refund, day, granted - count)
    refund.commit(**bounded())
    binding = min(room, key=lambda window: room[window])
    return Grant(granted, _retry_after(binding, now))


def enforce_capture_limit(db: Any, user_id: str, budget: CaptureBudget, now: datetime) -> None:
    """Count one capture; 429 with Retry-After when the minute or the day is full."""
    grant = reserve_captures(db, user_id, 1, budget, now)
    if not grant.granted:
        raise errors.TooManyRequests("The capture limit is reached; slow down.", grant.retry_after or 60)


def _login_windows(email: str, address: str, now: datetime) -> tuple[Window, Window]:
    return (
        _window("login-ip", address_bucket(address), now, LOGIN_WINDOW_SECONDS),
        _window("login-email", email, now, LOGIN_WINDOW_SECONDS),
    )


def failure_delay(failures: int, free: int, cap: int) -> int:
    """Seconds the next attempt waits after the last failure: none before `free` failures, then doubling up to `cap`."""
    return 0 if failures < free else min(2 ** (failures - free), cap)


def _wait(snapshot: Any, free: int, cap: int, now: datetime) -> float:
    if not snapshot.exists:
        return 0.0
    delay = failure_delay(snapshot.get("count") or 0, free, cap)
    last = snapshot.to_dict().get("lastFailureAt")
    if not delay or last is None:
        return 0.0
    return max(0.0, (last + timedelta(seconds=delay) - now).total_seconds())


def enforce_login_limit(db: Any, email: str, address: str, now: datetime) -> None:
    """429 (with Retry-After) when this address is blocked, or this address or e-mail must still wait."""
    by_address, by_email = _login_windows(email, address, now)
    refs = [db.collection(RATE_LIMITS).document(w.doc_id) for w in (by_address, by_email)]
    snapshots = {snapshot.id: snapshot for snapshot in db.get_all(refs, **bounded())}
    address_snapshot, email_snapshot = snapshots[by_address.doc_id], snapshots[by_email.doc_id]
    if address_snapshot.exists and (address_snapshot.get("count") or 0) >= ADDRESS_BLOCK_FAILURES:
        raise errors.TooManyRequests(
            "Too many failed logins from this address; try again later.", _retry_after(by_address, now)
        )
    wait = max(
        _wait(address_snapshot, ADDRESS_FREE_FAILURES, ADDRESS_MAX_DELAY_SECONDS, now),
        _wait(email_snapshot, EMAIL_FREE_FAILURES, EMAIL_MAX_DELAY_SECONDS, now),
    )
    if wait > 0:
        raise errors.TooManyRequests(
            f"Too many failed logins; wait {math.ceil(wait)} s before trying again.", math.ceil(wait)
        )


def record_login_failure(db: Any, email: str, address: str, now: datetime) -> None:
    """Count one failed login against the address and the e-mail, noting when it happened."""
    from google.cloud import firestore

    batch = db.batch()
    for window in _login_windows(email, address, now):
        batch.set(
            db.collection(RATE_LIMITS).document(window.doc_id),
            {"count": firestore.Increment(1), "lastFailureAt": now, "expireAt": window.ends_at + timedelta(hours=1)},
            merge=True,
        )
    batch.commit(**bounded())
