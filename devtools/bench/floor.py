"""3. The floor of a capture: its Firestore and Pub/Sub calls issued directly, with no HTTP, validation or JWT.

The same shared functions the capture handler calls, with this process's clients,
measured round-robin with the captures (see `capture`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devtools.bench.stats import percentile, summarize
from devtools.samples import tweet_body

RATIO_TARGET = 1.3  # capture p50 / floor p50
FLOOR_STEPS = ("ratelimit", "store", "publish", "settle")
FLOOR_HOW = (
    "shared.ratelimit.enforce_capture_limit, shared.tweets.capture.store_captures, "
    "shared.tweets.publish.PubSubPublisher.publish (one Publish request), "
    "shared.tweets.outbox.settle - called in the bench process with a plain Firestore client"
)


@dataclass
class Floor:
    """The four calls of one published capture, issued directly with this process's clients."""

    db: Any
    publisher: Any
    user_id: str
    rate_limit: int

    def once(self) -> dict[str, float]:
        """Seconds of each step and of all four, for a fresh tweet."""
        from shared.tweets.budget import CaptureBudget, enforce_capture_limit
        from shared.tweets.capture import store_captures
        from shared.tweets.outbox import settle

        tweet = tweet_body()
        now = datetime.now(UTC)
        budget = CaptureBudget("capture", self.rate_limit, 10**7)
        t0 = time.perf_counter()
        enforce_capture_limit(self.db, self.user_id, budget, now)
        t1 = time.perf_counter()
        stored = store_captures(self.db, self.user_id, [tweet], now)
        if not stored:
            raise RuntimeError("floor: tweet already stored")
        t2 = time.perf_counter()
        message_id = self.publisher.publish(stored[0].message())
        t3 = time.perf_counter()
        settle(self.db, stored[0], message_id)
        t4 = time.perf_counter()
        return {"ratelimit": t1 - t0, "store": t2 - t1, "publish": t3 - t2, "settle": t4 - t3, "total": t4 - t0}


def results(floors: list[dict[str, float]], captures: list[float], in_process: list[float]) -> dict[str, Any]:
    """The floor's figures, step by step, and the ratios of the captures (HTTP, in-process) to it."""
    floor_p50 = percentile([f["total"] for f in floors], 50)
    return {
        "how": FLOOR_HOW,
        "total_ms": summarize([f["total"] for f in floors]),
        **{f"{step}_ms": summarize([f[step] for f in floors]) for step in FLOOR_STEPS},
        "overhead_ratio": round(percentile(captures, 50) / floor_p50, 2),
        "in_process_ratio": round(percentile(in_process, 50) / floor_p50, 2),
        "ratio_target": RATIO_TARGET,
    }
