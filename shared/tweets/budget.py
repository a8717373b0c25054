"""The capture budget: how many tweets a user may capture per minute and per day.

The user's minute window (single captures and batch items have one each) and UTC-day
window are read first, in one batched read: a request with no room left is refused
without writing anything. Otherwise one commit adds what fits and returns both new
totals (the increments' results); tweets that parallel requests took the room of
are given back in a second commit, so the counters hold what was accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import counters, errors
from shared.counters import DAY_SECONDS
from shared.db import bounded


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
    minute = counters.window(budget.scope, user_id, now, 60)
    day = counters.window("capture-day", user_id, now, DAY_SECONDS)
    limits = {minute: budget.per_minute, day: budget.per_day}
    used = [counters.count_of(snapshot) for snapshot in counters.read(db, [minute, day])]
    room = {window: limit - spent for (window, limit), spent in zip(limits.items(), used, strict=True)}
    asked = max(0, min(count, *room.values()))
    if asked:
        batch = db.batch()
        counters.add(db, batch, minute, asked)
        counters.add(db, batch, day, asked)
        totals = counters.new_totals(batch.commit(**bounded()))
        room = {window: limit - (total - asked) for (window, limit), total in zip(limits.items(), totals, strict=True)}
    granted = max(0, min(asked, *room.values()))
    if granted < asked:
        release_captures(db, user_id, asked - granted, budget, now)
    if granted == count:
        return Grant(count)
    binding = min(room, key=lambda window: room[window])
    return Grant(granted, counters.retry_after(binding, now))


def release_captures(db: Any, user_id: str, count: int, budget: CaptureBudget, now: datetime) -> None:
    """Give back `count` captures reserved at `now` but not made (one commit)."""
    refund = db.batch()
    counters.add(db, refund, counters.window(budget.scope, user_id, now, 60), -count)
    counters.add(db, refund, counters.window("capture-day", user_id, now, DAY_SECONDS), -count)
    refund.commit(**bounded())


def enforce_capture_limit(db: Any, user_id: str, budget: CaptureBudget, now: datetime, count: int = 1) -> None:
    """Count `count` captures, all or none; 429 with Retry-After when the minute or the day cannot take them all."""
    grant = reserve_captures(db, user_id, count, budget, now)
    if grant.granted < count:
        if grant.granted:
            release_captures(db, user_id, grant.granted, budget, now)
        raise errors.TooManyRequests("The capture limit is reached; slow down.", grant.retry_after or 60)
