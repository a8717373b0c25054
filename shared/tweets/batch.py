"""Batch capture: validate each item on its own, capture the valid distinct ones, report per item.

The whole batch is refused only when the request itself is unusable (see
`schemas.CaptureBatch`); an invalid item, a repeat or an item over the user's
budget is reported in its place and never stops the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import ValidationError

from shared.errors import field_errors
from shared.tweets.budget import Budget, reserve
from shared.tweets.capture import capture_tweets
from shared.tweets.publish import Publisher
from shared.tweets.schemas import TweetCapture

STATUSES = ("published", "queued", "duplicate", "invalid", "rate_limited")
_schema = TweetCapture()


@dataclass
class BatchReport:
    """One result per item, in request order, and when to send the rate-limited ones again."""

    results: list[dict[str, Any]] = field(default_factory=list)
    retry_after: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The response body: the results and a count of each status."""
        counts = Counter(result["status"] for result in self.results)
        return {"results": self.results, "summary": {status: counts[status] for status in STATUSES}}


def _readable_id(item: Any) -> str | None:
    value = item.get("tweetId") if isinstance(item, dict) else None
    return value if isinstance(value, str) and len(value) <= 32 else None


def _validated(items: Sequence[Any]) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
    """(loaded tweet or None, result so far) per item: invalid ones already carry their field errors."""
    checked = []
    for index, item in enumerate(items):
        try:
            checked.append((_schema.load(item), {"index": index, "tweetId": item["tweetId"]}))
        except ValidationError as exc:
            errors = field_errors(exc.normalized_messages())
            checked.append(
                (None, {"index": index, "tweetId": _readable_id(item), "status": "invalid", "errors": errors})
            )
    return checked


def capture_batch(
    db: Any,
    publisher: Publisher,
    user_id: str,
    items: Sequence[Any],
    budget: Budget,
    now: datetime,
) -> BatchReport:
    """Capture the valid items of a batch: the first valid occurrence of each tweet id, within the budget."""
    checked = _validated(items)
    first: dict[str, dict[str, Any]] = {}
    for tweet, result in checked:
        if tweet is not None and tweet["tweetId"] in first:
            result["status"] = "duplicate"
        elif tweet is not None:
            first[tweet["tweetId"]] = tweet
    distinct = list(first.values())
    grant = reserve(db, user_id, {budget: len(distinct)}, now, fewer=True) if distinct else None
    granted = grant.held[budget] if grant else 0
    accepted, refused = distinct[:granted], {t["tweetId"] for t in distinct[granted:]}
    outcomes = capture_tweets(db, publisher, user_id, accepted, now) if accepted else {}
    report = BatchReport(retry_after=grant.retry_after if grant and refused else None)
    for tweet, result in checked:
        if tweet is not None and "status" not in result:
            tweet_id = tweet["tweetId"]
            if tweet_id in refused:
                result["status"] = "rate_limited"
            else:
                outcome = outcomes[tweet_id]
                result["status"] = outcome.status
                if outcome.message_id:
                    result["messageId"] = outcome.message_id
        report.results.append(result)
    return report
