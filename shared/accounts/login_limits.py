"""Failed-login limits, as fixed-window counters in Firestore shared by every instance.

Failed logins are limited so that a stranger can slow down an owner but never lock
them out (see the README's "Failed logins"), in a 15-minute window:
- per client network: an IPv4 address, or each of an IPv6 address's /64, /56 and /48
  (with 1, 2 and 4 times the thresholds: a /48 holds 65,536 /64s, and one attacker
  often holds them all). The first 5 failures are free; then each next attempt waits
  1, 2, 4, 8, 16, then 30 s after the network's last failure; at 20 failures the
  network is refused until the window ends;
- per e-mail, from all addresses together: from the 100th failure on, each next
  attempt waits 1, 2, 4, ... up to 60 s after the e-mail's last failure, but only an
  attempt from an address with failures of its own in the window. A correct password
  from an address that has not been failing is never held by a wait that a stranger
  keeps alive.

Refusing costs nothing: the counters are read first (one batched read) and a refused
attempt writes nothing and runs no bcrypt check. An admitted attempt is reserved on
every counter in one commit before the password is checked, and the commit's results
say whether parallel attempts took the places it saw free (then it is given back and
refused, still without bcrypt): parallel logins cannot exceed the limit. A failure
keeps its reservation and then stamps its time as the counters' `lastFailureAt`, which
the waits run from; a success gives its reservation back and stamps nothing, so it
never restarts a wait.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import counters, errors
from shared.accounts.addresses import address_networks
from shared.counters import Window
from shared.db import bounded

LOGIN_WINDOW_SECONDS = 15 * 60
ADDRESS_FREE_FAILURES = 5
ADDRESS_MAX_DELAY_SECONDS = 30
ADDRESS_BLOCK_FAILURES = 20
EMAIL_FREE_FAILURES = 100
EMAIL_MAX_DELAY_SECONDS = 60
# Counter names of an address's networks, narrowest first (an IPv4 address or an IPv6 /64, then /56, /48).
_NETWORK_PREFIXES = ("login-ip", "login-ip56", "login-ip48")


@dataclass(frozen=True)
class _Limit:
    """One counter of a login attempt and its thresholds (`block` None: never a flat refusal)."""

    window: Window
    free: int
    max_delay: int
    block: int | None


def _limits(email: str, address: str, now: datetime) -> list[_Limit]:
    """The address's networks' limits, narrowest first, then the e-mail's (always last)."""
    networks = [
        _Limit(
            counters.window(_NETWORK_PREFIXES[i], network, now, LOGIN_WINDOW_SECONDS),
            ADDRESS_FREE_FAILURES * 2**i,
            ADDRESS_MAX_DELAY_SECONDS,
            ADDRESS_BLOCK_FAILURES * 2**i,
        )
        for i, network in enumerate(address_networks(address))
    ]
    by_email = counters.window("login-email", email, now, LOGIN_WINDOW_SECONDS)
    return [*networks, _Limit(by_email, EMAIL_FREE_FAILURES, EMAIL_MAX_DELAY_SECONDS, None)]


def failure_delay(failures: int, free: int, cap: int) -> int:
    """Seconds the next attempt waits after the last failure: none before `free` failures, then doubling up to `cap`."""
    return 0 if failures < free else min(2 ** (failures - free), cap)


def _wait(snapshot: Any, limit: _Limit, now: datetime) -> float:
    delay = failure_delay(counters.count_of(snapshot), limit.free, limit.max_delay)
    last = snapshot.to_dict().get("lastFailureAt") if snapshot.exists else None
    if not delay or last is None:
        return 0.0
    return max(0.0, (last + timedelta(seconds=delay) - now).total_seconds())


@dataclass(frozen=True)
class Attempt:
    """A login attempt reserved on its counters: it stays counted as a failure unless given back."""

    windows: tuple[Window, ...]

    def give_back(self, db: Any, batch: Any) -> None:
        """Add to `batch` the writes that take this attempt off its counters (a success is no failure)."""
        for window in self.windows:
            counters.add(db, batch, window, -1)

    def failed(self, db: Any, now: datetime) -> None:
        """Record that the attempt failed at `now`: the next attempts' waits run from it (its count stays)."""
        batch = db.batch()
        for window in self.windows:
            batch.set(counters.counter(db, window), {"lastFailureAt": now}, merge=True)
        batch.commit(**bounded())


def reserve_attempt(db: Any, email: str, address: str, now: datetime) -> Attempt:
    """Count one attempt before its password is checked; 429 with Retry-After, writing nothing, when refused."""
    limits = _limits(email, address, now)
    snapshots = counters.read(db, [limit.window for limit in limits])
    seen = [counters.count_of(snapshot) for snapshot in snapshots]
    # The e-mail's wait holds only an address that has failed itself (see the module docstring).
    applies = [True] * (len(limits) - 1) + [any(seen[:-1])]
    for limit, count in zip(limits, seen, strict=True):
        if limit.block is not None and count >= limit.block:
            raise errors.TooManyRequests(
                "Too many failed logins from this network; try again later.", counters.retry_after(limit.window, now)
            )
    wait = max(_wait(s, limit, now) for s, limit, on in zip(snapshots, limits, applies, strict=True) if on)
    if wait > 0:
        raise errors.TooManyRequests(
            f"Too many failed logins; wait {math.ceil(wait)} s before trying again.", math.ceil(wait)
        )
    batch = db.batch()
    for limit in limits:
        counters.add(db, batch, limit.window)
    totals = counters.new_totals(batch.commit(**bounded()))
    attempt = Attempt(tuple(limit.window for limit in limits))
    # More attempts before this one than when it read: it took a place it was not given. Fewer (a
    # success gave its place back meanwhile) overtook nobody.
    overtaken = [
        failure_delay(total - 1, limit.free, limit.max_delay)
        for limit, count, total, on in zip(limits, seen, totals, applies, strict=True)
        if on and total - 1 > count and total - 1 >= limit.free
    ]
    if overtaken:
        give_back = db.batch()
        attempt.give_back(db, give_back)
        give_back.commit(**bounded())
        raise errors.TooManyRequests("Too many logins at once; try again shortly.", max(1, *overtaken))
    return attempt
