"""A light per-address limit on the unauthenticated endpoints, kept in each instance's memory.

Register, login, refresh and logout answer anyone, and each costs at least one
Firestore read; a Firestore counter to limit them would cost a write per request,
more than what it guards. So each instance counts requests per client address (an
IPv4 address, an IPv6 /64) in fixed one-minute windows, in memory: a refusal costs
no Firestore operation. With N instances an address gets at most N times the limit.
"""

from __future__ import annotations

import threading
import time

from shared import errors
from shared.accounts.addresses import address_bucket

# Addresses remembered per window: past it, new addresses go uncounted (the Firestore-backed
# login limits still hold) rather than letting a flood of addresses grow the instance's memory.
MAX_TRACKED = 50_000
WINDOW_SECONDS = 60

_lock = threading.Lock()
_window = 0
_counts: dict[str, int] = {}


def admit(address: str, per_minute: int, now: float | None = None) -> None:
    """Count one request from `address`; 429 with Retry-After once it made `per_minute` this minute."""
    global _window
    now = time.time() if now is None else now
    window = int(now) // WINDOW_SECONDS
    bucket = address_bucket(address)
    with _lock:
        if window != _window:
            _window = window
            _counts.clear()
        count = _counts.get(bucket, 0)
        if count >= per_minute:
            retry_after = (window + 1) * WINDOW_SECONDS - now
            raise errors.TooManyRequests("Too many requests from this address; slow down.", int(retry_after) + 1)
        if count or len(_counts) < MAX_TRACKED:
            _counts[bucket] = count + 1


def reset() -> None:
    """Forget every count (tests start each case from a fresh instance's state)."""
    global _window
    with _lock:
        _window = 0
        _counts.clear()
