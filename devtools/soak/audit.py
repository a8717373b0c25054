"""The balance: every tweet a client was told about is stored once and reached the topic, nothing else did.

Inputs are the clients' ledger, every message drained from the topic, the fault
log, and the Firestore emulator's `tweets` and `queue` collections read directly.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from devtools.soak.drain import Received
from devtools.soak.extension import Ledger
from devtools.soak.stack import FaultLog, Window

# How long after a publish its settle can still be pending (publish deadline + a bounded commit).
SETTLE_SPAN = 9.0
CHECKS = (
    ("lost", "told published/queued/duplicate (or held) but not stored"),
    ("answered_200_not_stored", "answered 200 published/queued, missing from Firestore"),
    ("events_not_on_topic", "stored events (like, unlike, re-like) with no message"),
    ("unexplained_copies", "extra message copies no injected crash point explains"),
    ("final_state_mismatch", "last message per dedupKey, stored state or the client's last answer disagree"),
    ("messages_for_uncaptured", "messages for tweets never captured"),
    ("inconsistent_messages", "messages whose attributes disagree with their dedupKey or their copies"),
    ("unsettled", "published events not recorded on the tweet, with no queue item left"),
    ("listing_mismatch", "GET /api/tweets disagrees with Firestore (missing, repeated, extra or wrong status)"),
    ("queue_active", "queue items left pending/retrying after the final replays"),
    ("queue_failed", "queue items the replay gave up on"),
    ("held_at_end", "tweets a client still held after the final flush"),
    ("unresolved_failures", "tweets whose 5xx/429/network error was never followed by an answer"),
    ("client_anomalies", "answers a correct server never gives"),
)


@dataclass
class Audit:
    """The outcome: one list of offending items per check, and the figures."""

    problems: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name, _ in CHECKS})
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        """True when every check found nothing."""
        return not any(self.problems.values())


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if len(values) < 2:
        return {"n": len(values), "p50_ms": values[0] * 1000 if values else None, "p95_ms": None}
    cuts = statistics.quantiles(values, n=100)
    return {"n": len(values), "p50_ms": round(cuts[49] * 1000, 1), "p95_ms": round(cuts[94] * 1000, 1)}


def _crash_point(first: float, faults: FaultLog) -> str:
    """Which injected fault can have let a second copy of a message published at `first` happen."""

    def near(window: Window, before: float = 1.0) -> bool:
        end = window.end or window.start
        return window.start - before <= first + SETTLE_SPAN and end >= first - before

    for kill in faults.kills:
        if first - 1.0 <= kill.start <= first + SETTLE_SPAN:
            return f"{kill.kind} between publish and settle"
    for window in faults.windows:
        if window.kind == "pubsub" and first - 1.0 <= window.start <= first + SETTLE_SPAN:
            return "Pub/Sub cut off before its answer reached the function"
        if window.kind == "firestore" and near(window):
            return "settle lost while Firestore was unreachable"
    return "unexplained"


def _check_listing(
    found: list[Any], user_id: str, listed: list[dict[str, Any]] | None, tweets: dict[str, dict[str, Any]]
) -> None:
    """The user's listing names each stored capture once, with the status its document implies."""
    if listed is None:
        found.append({"user": user_id, "problem": "the listing could not be read to its end"})
        return
    counts = Counter(item["tweetId"] for item in listed)
    mine = {t["tweetId"]: t for t in tweets.values() if t.get("userId") == user_id}
    for tweet_id, count in counts.items():
        if count > 1:
            found.append({"user": user_id, "tweetId": tweet_id, "problem": f"listed {count} times"})
        if tweet_id not in mine:
            found.append({"user": user_id, "tweetId": tweet_id, "problem": "listed, not stored"})
    for tweet_id in mine.keys() - counts.keys():
        found.append({"user": user_id, "tweetId": tweet_id, "problem": "stored, not listed"})
    for item in listed:
        tweet = mine.get(item["tweetId"])
        if tweet is not None:
            expected = "unliked" if tweet.get("unlikedAt") is not None else "published"
            if item["status"] != expected:
                found.append({"user": user_id, "tweetId": item["tweetId"], "status": item["status"]})


def audit(
    ledger: Ledger,
    messages: list[Received],
    faults: FaultLog,
    tweets: dict[str, dict[str, Any]],
    queue: dict[str, dict[str, Any]],
    held: dict[tuple[str, str], str],
    unlike: bool,
    listings: dict[str, list[dict[str, Any]] | None] | None = None,
) -> Audit:
    """Balance the ledger against the topic and Firestore (see CHECKS)."""
    result = Audit()
    problems = result.problems
    by_key: dict[str, list[Received]] = defaultdict(list)
    for message in messages:
        by_key[message.attributes.get("dedupKey", "")].append(message)

    known = {f"{u}_{t}" for (u, t) in ledger.keys}
    for key, copies in by_key.items():
        if key not in tweets or key not in known:
            problems["messages_for_uncaptured"].append({"dedupKey": key, "messages": len(copies)})
        for message in copies:
            attrs = message.attributes
            if f"{attrs.get('userId')}_{attrs.get('tweetId')}" != key or message.data.get("data", {}).get(
                "tweetId"
            ) != attrs.get("tweetId"):
                problems["inconsistent_messages"].append({"dedupKey": key, "attributes": attrs})

    copies_by_cause: Counter[str] = Counter()
    failed_items = {item_id: item for item_id, item in queue.items() if item.get("status") == "failed"}
    for key, tweet in tweets.items():
        copies = by_key.get(key, [])
        by_sequence: dict[int, list[Received]] = defaultdict(list)
        for message in copies:
            by_sequence[int(message.attributes.get("sequence", "0"))].append(message)
        last_sequence = tweet.get("likeSeq") or 0
        deliveries = tweet.get("deliveries") or {}
        for sequence in range(last_sequence + 1):
            item_id = key if sequence == 0 else f"{key}~{sequence}"
            sent = sorted(by_sequence.get(sequence, []), key=lambda m: m.order)
            if not sent:
                if item_id not in failed_items:
                    problems["events_not_on_topic"].append({"dedupKey": key, "sequence": sequence})
                continue
            if len({m.attributes.get("event") for m in sent}) > 1 or (
                sequence == 0 and sent[0].attributes.get("event", "liked") != "liked"
            ):
                problems["inconsistent_messages"].append({"dedupKey": key, "sequence": sequence})
            for _extra in sent[1:]:
                cause = _crash_point(sent[0].publish_time, faults)
                copies_by_cause[cause] += 1
                if cause == "unexplained":
                    problems["unexplained_copies"].append(
                        {"dedupKey": key, "sequence": sequence, "copies": len(sent), "first": sent[0].publish_time}
                    )
            recorded = str(sequence) in deliveries or (sequence == 0 and tweet.get("pubsubMessageId"))
            if not recorded and item_id not in queue:
                problems["unsettled"].append({"dedupKey": key, "sequence": sequence})
        stored_state = "unliked" if tweet.get("unlikedAt") is not None else "liked"
        if by_sequence:
            top = max(by_sequence)
            last_event = by_sequence[top][0].attributes.get("event", "liked")
            if top != last_sequence or last_event != stored_state:
                problems["final_state_mismatch"].append(
                    {"dedupKey": key, "stored": stored_state, "likeSeq": last_sequence, "last": [top, last_event]}
                )

    told_keys = 0
    for (user_id, tweet_id), record in ledger.keys.items():
        key = f"{user_id}_{tweet_id}"
        still_held = (user_id, tweet_id) in held
        if not record.told and not still_held:
            continue
        told_keys += 1
        statuses = [status for status, _ in record.told]
        stored = tweets.get(key)
        if stored is None:
            problems["lost"].append({"dedupKey": key, "told": statuses, "held": still_held})
            if any(s in ("published", "queued") for s in statuses):
                problems["answered_200_not_stored"].append({"dedupKey": key, "told": statuses})
            continue
        if stored.get("userId") != user_id or stored.get("tweetId") != tweet_id:
            problems["inconsistent_messages"].append({"dedupKey": key, "stored": [stored.get("userId")]})
        if unlike and record.told and not still_held:
            stored_state = "unliked" if stored.get("unlikedAt") is not None else "liked"
            if stored_state != record.state:
                problems["final_state_mismatch"].append(
                    {"dedupKey": key, "stored": stored_state, "client": record.state, "told": statuses}
                )
        if still_held:
            problems["held_at_end"].append({"dedupKey": key, "op": held[(user_id, tweet_id)]})
        if record.awaiting_answer_after_failure:
            problems["unresolved_failures"].append({"dedupKey": key, "failures": record.failures})

    for user_id, listed in (listings or {}).items():
        _check_listing(problems["listing_mismatch"], user_id, listed, tweets)

    for item_id, item in queue.items():
        if item.get("status") in ("pending", "retrying"):
            problems["queue_active"].append({"item": item_id, "status": item.get("status")})
    problems["queue_failed"] = [
        {"item": item_id, "attempts": item.get("attempts"), "error": item.get("errorMessage")}
        for item_id, item in failed_items.items()
    ]
    problems["client_anomalies"] = list(ledger.anomalies)

    outcomes = Counter(a.outcome for a in ledger.attempts)
    latency: dict[str, list[float]] = defaultdict(list)
    for attempt in ledger.attempts:
        if attempt.kind in ("capture", "batch", "unlike") and attempt.outcome != "network":
            during = faults.active(attempt.started) or faults.active(attempt.started + attempt.seconds)
            latency[f"{attempt.kind} {'in outages' if during else 'outside outages'}"].append(attempt.seconds)
    failed_keys = [r for r in ledger.keys.values() if r.failures]
    events = Counter(m.attributes.get("event", "liked") for m in messages)
    result.figures = {
        "requests": len(ledger.attempts),
        "requests_by_kind": {k.removeprefix("requests "): v for k, v in ledger.figures.items() if "requests" in k},
        "answers": {str(k): v for k, v in sorted(outcomes.items(), key=lambda kv: str(kv[0]))},
        "tweets_told": told_keys,
        "answers_told": dict(Counter(status for r in ledger.keys.values() for status, _ in r.told)),
        "tweets_stored": len(tweets),
        "unliked_stored": sum(1 for t in tweets.values() if t.get("unlikedAt") is not None),
        "messages": len(messages),
        "messages_by_event": dict(events),
        "distinct_events": sum(len({m.attributes.get("sequence") for m in copies}) for copies in by_key.values()),
        "extra_copies_by_crash_point": dict(copies_by_cause),
        "duplicates_by_cause": dict(ledger.duplicates),
        "pubsub_outages": sum(1 for w in faults.windows if w.kind == "pubsub"),
        "firestore_windows": sum(1 for w in faults.windows if w.kind == "firestore"),
        "kills": dict(Counter(k.kind for k in faults.kills)),
        "answers_5xx": sum(v for k, v in outcomes.items() if isinstance(k, int) and k >= 500),
        "answers_429": outcomes.get(429, 0),
        "network_errors": outcomes.get("network", 0),
        "tweets_with_failed_attempts": len(failed_keys),
        "of_which_later_acknowledged": sum(1 for r in failed_keys if r.resolved_after_failure),
        "other": {k: v for k, v in ledger.figures.items() if "requests" not in k},
        "latency": {name: _percentiles(values) for name, values in sorted(latency.items())},
    }
    return result
