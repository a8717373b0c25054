"""Rate limits shared by every instance, as fixed-window counters in Firestore.

Capture: one write per request (an increment whose result the commit returns).
Failed logins: one batched read of two counters per login, and one batched write
of two increments per failure. Counter documents carry `expireAt` for the TTL policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import errors
from shared.store import RATE_LIMITS, bounded, key_digest

LOGIN_WINDOW_SECONDS = 15 * 60
LOGIN_MAX_FAILURES = 10


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


def _count(db: Any, batch: Any, window: Window) -> None:
    """Add one to a window's counter in `batch`, creating it (with its TTL field) if need be."""
    from google.cloud import firestore

    batch.set(
        db.collection(RATE_LIMITS).document(window.doc_id),
        {"count": firestore.Increment(1), "expireAt": window.ends_at + timedelta(hours=1)},
        merge=True,
    )


def enforce_capture_limit(db: Any, user_id: str, limit: int, now: datetime) -> None:
    """Count this capture in the user's minute; 429 once the minute holds more than `limit`."""
    window = _window("capture", user_id, now, 60)
    batch = db.batch()
    _count(db, batch, window)
    count = batch.commit(**bounded())[0].transform_results[0].integer_value
    if count > limit:
        raise errors.TooManyRequests(f"More than {limit} captures in a minute; slow down.", _retry_after(window, now))


def _login_windows(email: str, address: str, now: datetime) -> list[Window]:
    return [
        _window("login-email", email, now, LOGIN_WINDOW_SECONDS),
        _window("login-ip", address, now, LOGIN_WINDOW_SECONDS),
    ]


def enforce_login_limit(db: Any, email: str, address: str, now: datetime) -> None:
    """429 when this e-mail or this address failed to log in too often in the window."""
    windows = _login_windows(email, address, now)
    refs = [db.collection(RATE_LIMITS).document(w.doc_id) for w in windows]
    for snapshot in db.get_all(refs, **bounded()):
        if snapshot.exists and (snapshot.get("count") or 0) >= LOGIN_MAX_FAILURES:
            window = next(w for w in windows if w.doc_id == snapshot.id)
            raise errors.TooManyRequests("Too many failed logins; wait before trying again.", _retry_after(window, now))


def record_login_failure(db: Any, email: str, address: str, now: datetime) -> None:
    """Count one failed login against the e-mail and the address."""
    batch = db.batch()
    for window in _login_windows(email, address, now):
        _count(db, batch, window)
    batch.commit(**bounded())
