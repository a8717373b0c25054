"""The read budget: how many documents a user may read per minute and per day through lookup and the listing.

Reads cost money like writes do: a stolen token could otherwise read the same 500
ids again and again. A request is checked before it reads (one batched read of the
user's minute and UTC-day counters; a refused request writes nothing), then counts
what it read in one commit. Each request counts at least `MIN_UNITS`: its own two
counter reads and two counter writes cost about that much.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import counters, errors
from shared.counters import DAY_SECONDS, Window
from shared.db import bounded

MIN_UNITS = 10


@dataclass(frozen=True)
class ReadBudget:
    """A user's read limits, per minute and per UTC day."""

    per_minute: int
    per_day: int


@dataclass(frozen=True)
class Reading:
    """A read the budget admitted; `spend` counts what it really read."""

    windows: tuple[Window, Window]

    def spend(self, db: Any, documents: int) -> None:
        """Count `documents` read (at least MIN_UNITS) against the user's minute and day."""
        batch = db.batch()
        for window in self.windows:
            counters.add(db, batch, window, max(documents, MIN_UNITS))
        batch.commit(**bounded())


def admit_read(db: Any, user_id: str, at_most: int, budget: ReadBudget, now: datetime) -> Reading:
    """Admit a read of up to `at_most` documents; 429 with Retry-After, writing nothing, when it may not fit."""
    minute = counters.window("read-minute", user_id, now, 60)
    day = counters.window("read-day", user_id, now, DAY_SECONDS)
    used = [counters.count_of(snapshot) for snapshot in counters.read(db, [minute, day])]
    units = max(at_most, MIN_UNITS)
    for window, limit, spent in ((minute, budget.per_minute, used[0]), (day, budget.per_day, used[1])):
        if spent + units > limit:
            raise errors.TooManyRequests(
                "The read budget is spent; read fewer tweets or come back later.", counters.retry_after(window, now)
            )
    return Reading((minute, day))
