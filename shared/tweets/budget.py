"""The capture budget: how many tweets a user may capture per minute and per day.

One commit per request adds the request's tweets to the user's minute window
(single captures and batch items have one each) and to the user's UTC-day window,
and returns both new totals (increments whose results the commit returns, so there
is no read). Tweets over either limit are refused and given back in a second
commit, so the counters hold what was accepted.
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
    batch = db.batch()
    counters.add(db, batch, minute, count)
    counters.add(db, batch, day, count)
    totals = [result.transform_results[0].integer_value for result in batch.commit(**bounded())]
    room = {minute: budget.per_minute - (totals[0] - count), day: budget.per_day - (totals[1] - count)}
    granted = max(0, min(count, *room.values()))
    if granted == count:
        return Grant(count)
    refund = db.batch()
    counters.add(db, refund, minute, granted - count)
    counters.add(db, refund, day, granted - count)
    refund.commit(**bounded())
    binding = min(room, key=lambda window: room[window])
    return Grant(granted, counters.retry_after(binding, now))


def enforce_capture_limit(db: Any, user_id: str, budget: CaptureBudget, now: datetime) -> None:
    """Count one capture; 429 with Retry-After when the minute or the day is full."""
    grant = reserve_captures(db, user_id, 1, budget, now)
    if not grant.granted:
        raise errors.TooManyRequests("The capture limit is reached; slow down.", grant.retry_after or 60)
