"""The budgets: how many tweets a user may capture, and how many documents read, per minute and per UTC day.

One mechanism serves every budget (single captures, batch captures, reads). A
request says how much of each budget it needs; the user's minute and day counters
of those budgets are read first, in one batched read, and when it does not fit the
request is refused (429 with Retry-After) without writing anything. Otherwise one
commit adds it to every counter (increments) and returns the new totals. If
parallel requests took the room in between, the reservation is given back in a
second commit and the request refused: that give-back is the only write a refusal
can cause. After its read, a request gives back what it reserved but did not use
(a listing page shorter than its limit, ids never captured), so the counters hold
what was used and parallel requests together never pass a limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from shared import counters, errors
from shared.config import Settings
from shared.counters import DAY_SECONDS, Window
from shared.db import bounded


@dataclass(frozen=True)
class Budget:
    """One budget: `per_minute` in its minute window `scope`, `per_day` in the UTC-day window `day_scope`.

    A request counts at least `minimum` against it (a read request's own counter reads
    and writes cost about ten documents).
    """

    scope: str
    per_minute: int
    day_scope: str
    per_day: int
    refusal: str
    minimum: int = 0

    def limits(self, user_id: str, now: datetime) -> tuple[tuple[Window, int], tuple[Window, int]]:
        """The user's minute and day windows at `now`, each with its limit."""
        return (
            (counters.window(self.scope, user_id, now, 60), self.per_minute),
            (counters.window(self.day_scope, user_id, now, DAY_SECONDS), self.per_day),
        )


_CAPTURES_REFUSED = "The capture limit is reached; slow down."


def single_captures(settings: Settings) -> Budget:
    """The budget of POST /api/tweets/capture (its own minute window; the day is shared with batches)."""
    return Budget(
        "capture", settings.rate_limit_per_minute, "capture-day", settings.daily_capture_limit, _CAPTURES_REFUSED
    )


def batch_captures(settings: Settings) -> Budget:
    """The budget of batch capture and republish (one minute window; the day is shared with single captures)."""
    return Budget(
        "capture-batch",
        settings.batch_rate_limit_per_minute,
        "capture-day",
        settings.daily_capture_limit,
        _CAPTURES_REFUSED,
    )


def reads(settings: Settings) -> Budget:
    """The read budget of lookup, the listing, republish and the queue view (one unit per document read)."""
    return Budget(
        "read-minute",
        settings.read_limit_per_minute,
        "read-day",
        settings.daily_read_limit,
        "The read budget is spent; read fewer tweets or come back later.",
        minimum=10,
    )


@dataclass
class Reservation:
    """What a request holds of each budget, reserved at `now`; `retry_after` when it holds less than it asked."""

    user_id: str
    now: datetime
    held: dict[Budget, int] = field(default_factory=dict)
    retry_after: int | None = None

    def keep(self, db: Any, used: Mapping[Budget, int]) -> None:
        """Give back what was reserved beyond `used` (at least each budget's minimum), in one commit if any."""
        unused = {budget: self.held[budget] - max(count, budget.minimum) for budget, count in used.items()}
        unused = {budget: count for budget, count in unused.items() if count > 0}
        if unused:
            _give_back(db, self.user_id, self.now, unused)
            for budget, count in unused.items():
                self.held[budget] -= count


def reserve(db: Any, user_id: str, asks: Mapping[Budget, int], now: datetime, *, fewer: bool = False) -> Reservation:
    """Reserve `asks` of the user's budgets, all or none: 429 with Retry-After when they do not fit.

    With `fewer`, what does not fit is cut instead, by the same number from every ask,
    and the reservation says so (`retry_after`); it may hold nothing.
    """
    asks = {budget: max(count, budget.minimum) for budget, count in asks.items()}
    limits = [(budget, window, limit) for budget in asks for window, limit in budget.limits(user_id, now)]
    used = [counters.count_of(snapshot) for snapshot in counters.read(db, [window for _, window, _ in limits])]
    over = {window: spent + asks[budget] - limit for (budget, window, limit), spent in zip(limits, used, strict=True)}
    cut = max(0, *over.values())
    if cut >= (min(asks.values()) if fewer else 1):
        return _refused(user_id, now, limits, over, fewer)
    held = {budget: count - cut for budget, count in asks.items()}
    batch = db.batch()
    for budget, window, _ in limits:
        counters.add(db, batch, window, held[budget])
    totals = counters.new_totals(batch.commit(**bounded()))
    late = {window: total - limit for (_, window, limit), total in zip(limits, totals, strict=True)}
    taken = max(0, *late.values())  # what parallel requests took of the room since the read
    if taken >= (min(held.values()) if fewer else 1):
        _give_back(db, user_id, now, held)
        return _refused(user_id, now, limits, late, fewer)
    if taken:
        _give_back(db, user_id, now, dict.fromkeys(held, taken))
        held = {budget: count - taken for budget, count in held.items()}
    short = {window: excess for window, excess in (over if cut else late).items() if excess > 0}
    return Reservation(user_id, now, held, _retry_after(short, now) if cut or taken else None)


Next = TypeVar("Next")


def read_page(
    db: Any, user_id: str, settings: Settings, limit: int, now: datetime, read: Callable[[], tuple[list[Any], Next]]
) -> tuple[list[Any], Next]:
    """One page of up to `limit` documents, read by `read()` within the user's read budget.

    `limit` + 1 are reserved (the page, and the one document that tells "more"), and
    what the page did not read is given back.
    """
    budget = reads(settings)
    reading = reserve(db, user_id, {budget: limit + 1}, now)
    items, following = read()
    reading.keep(db, {budget: len(items) + (following is not None)})
    return items, following


def _refused(
    user_id: str, now: datetime, limits: list[tuple[Budget, Window, int]], over: Mapping[Window, int], fewer: bool
) -> Reservation:
    """Nothing held: with `fewer` a reservation of nothing, else 429 naming the first budget short of room."""
    retry_after = _retry_after({window: excess for window, excess in over.items() if excess > 0}, now)
    if fewer:
        return Reservation(user_id, now, {budget: 0 for budget, _, _ in limits}, retry_after)
    short = next(budget for budget, window, _ in limits if over[window] > 0)
    raise errors.TooManyRequests(short.refusal, retry_after)


def _retry_after(short: Mapping[Window, int], now: datetime) -> int:
    """When the last of the windows that are short of room ends."""
    return max(counters.retry_after(window, now) for window in short)


def _give_back(db: Any, user_id: str, now: datetime, counts: Mapping[Budget, int]) -> None:
    """Take `counts` off the user's windows of `now` (one commit)."""
    refund = db.batch()
    for budget, count in counts.items():
        for window, _ in budget.limits(user_id, now):
            counters.add(db, refund, window, -count)
    refund.commit(**bounded())
