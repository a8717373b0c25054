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
        refund = db.batch()
        counters.add(db, refund, minute, granted - asked)
        counters.add(db, refund, day, granted - asked)
        refund.commit(**bounded())
    if granted == count:
        return Grant(count)
    binding = min(room, key=lambda window: room[window])
    return Grant(granted, counters.retry_after(binding, now))


def enforce_capture_limit(db: Any, user_id: str, budget: CaptureBudget, now: datetime) -> None:
    """Count one capture; 429 with Retry-After when the minute or the day is full."""
    grant = reserve_captures(db, user_id, 1, budget, now)
    if not grant.granted:
        raise errors.TooManyRequests("The capture limit is reached; slow down.", grant.retry_after or 60)
