"""Failed-login limits, as fixed-window counters in Firestore shared by every instance.

One batched read of two counters per login (this address's and this e-mail's), and
one batched write of two increments per failure.

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
from datetime import datetime, timedelta
from typing import Any

from shared import counters, errors
from shared.accounts.addresses import address_bucket
from shared.counters import Window
from shared.db import bounded

LOGIN_WINDOW_SECONDS = 15 * 60
ADDRESS_FREE_FAILURES = 5
ADDRESS_MAX_DELAY_SECONDS = 30
ADDRESS_BLOCK_FAILURES = 20
EMAIL_FREE_FAILURES = 100
EMAIL_MAX_DELAY_SECONDS = 60


def _login_windows(email: str, address: str, now: datetime) -> tuple[Window, Window]:
    return (
        counters.window("login-ip", address_bucket(address), now, LOGIN_WINDOW_SECONDS),
        counters.window("login-email", email, now, LOGIN_WINDOW_SECONDS),
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
    refs = [counters.counter(db, w) for w in (by_address, by_email)]
    snapshots = {snapshot.id: snapshot for snapshot in db.get_all(refs, **bounded())}
    address_snapshot, email_snapshot = snapshots[by_address.doc_id], snapshots[by_email.doc_id]
    if address_snapshot.exists and (address_snapshot.get("count") or 0) >= ADDRESS_BLOCK_FAILURES:
        raise errors.TooManyRequests(
            "Too many failed logins from this address; try again later.", counters.retry_after(by_address, now)
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
    batch = db.batch()
    for window in _login_windows(email, address, now):
        counters.add(db, batch, window, lastFailureAt=now)
    batch.commit(**bounded())
