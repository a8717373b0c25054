"""What an import costs in Firestore operations and dollars, at Google's published prices.

Prices (USD) are Firestore Standard edition in us-central1 and the free quota is
Firestore's daily one (https://cloud.google.com/firestore/pricing); a
multi-region database (nam5, eur3) costs twice as much per operation. Pub/Sub
throughput is $40 per TiB after the first 10 GiB a month
(https://cloud.google.com/pubsub/pricing): an archive's few megabytes stay free.
"""

from __future__ import annotations

from dataclasses import dataclass

READ_USD = 0.03 / 100_000
WRITE_USD = 0.09 / 100_000
DELETE_USD = 0.01 / 100_000
FREE_READS_PER_DAY = 50_000
FREE_WRITES_PER_DAY = 20_000
FREE_DELETES_PER_DAY = 20_000
PUBSUB_USD_PER_GIB = 40 / 1024
PUBSUB_FREE_GIB_PER_MONTH = 10
PUBSUB_MIN_BYTES_PER_PUBLISH = 1000  # billed per publish request whatever the message's size

# Firestore operations per request, counted on the wire against the emulator (see the README's Cost section).
READS_PER_LOOKED_UP_ID = 1
WRITES_PER_LOOKUP = 0
WRITES_PER_NEW_ITEM = 3  # the tweet, its outbox (queue) item, the message id once published
DELETES_PER_NEW_ITEM = 1  # the outbox item once published
WRITES_PER_BATCH = 2  # the minute and the day capture-budget counters


@dataclass(frozen=True)
class Estimate:
    """Firestore operations an import will cause, and their price beyond the daily free quota."""

    reads: int
    writes: int
    deletes: int
    pubsub_bytes: int = 0

    @property
    def usd(self) -> float:
        """Dollars beyond the free quota, if nothing else used Firestore that day."""
        return (
            max(0, self.reads - FREE_READS_PER_DAY) * READ_USD
            + max(0, self.writes - FREE_WRITES_PER_DAY) * WRITE_USD
            + max(0, self.deletes - FREE_DELETES_PER_DAY) * DELETE_USD
        )

    def lines(self) -> list[str]:
        """What the user is told before anything is sent: Firestore, then Pub/Sub."""
        price = "$0 (inside the free tier)" if self.usd == 0 else f"≈ ${self.usd:.2f} beyond the daily free tier"
        return [
            f"Firestore: ≈ {self.writes:,} writes, {self.deletes:,} deletes and {self.reads:,} reads: {price}"
            " (us-central1 prices; twice that on a multi-region database)",
            f"Pub/Sub: ≈ {self.pubsub_bytes / 1e6:,.1f} MB published (as much again delivered per subscriber),"
            f" inside its {PUBSUB_FREE_GIB_PER_MONTH} GiB monthly free tier"
            if self.pubsub_bytes < PUBSUB_FREE_GIB_PER_MONTH * 2**30
            else f"Pub/Sub: ≈ {self.pubsub_bytes / 2**30:,.1f} GiB published, ${PUBSUB_USD_PER_GIB:.3f}/GiB"
            f" beyond {PUBSUB_FREE_GIB_PER_MONTH} GiB a month",
        ]


def estimate(looked_up: int, to_send: int, batch_size: int, lookup_size: int) -> Estimate:
    """The operations of looking up LOOKED_UP ids and sending TO_SEND new items."""
    lookups = -(-looked_up // lookup_size) if looked_up else 0
    batches = -(-to_send // batch_size) if to_send else 0
    return Estimate(
        reads=looked_up * READS_PER_LOOKED_UP_ID,
        writes=to_send * WRITES_PER_NEW_ITEM + lookups * WRITES_PER_LOOKUP + batches * WRITES_PER_BATCH,
        deletes=to_send * DELETES_PER_NEW_ITEM,
        pubsub_bytes=to_send * PUBSUB_MIN_BYTES_PER_PUBLISH,
    )
