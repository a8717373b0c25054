"""The soak's audit is not vacuous: each kind of loss or stray message it must catch, it reports."""

from __future__ import annotations

import time
from typing import Any

from devtools.soak.audit import audit
from devtools.soak.drain import Received
from devtools.soak.extension import Ledger
from devtools.soak.stack import FaultLog


def _message(user: str, tweet: str, at: float, sequence: int = 0, event: str = "liked", mid: str = "1") -> Received:
    attributes = {
        "userId": user,
        "tweetId": tweet,
        "dedupKey": f"{user}_{tweet}",
        "event": event,
        "sequence": str(sequence),
    }
    return Received(0, mid, at, attributes, {"data": {"tweetId": tweet}, "attributes": attributes}, at)


def _stored(user: str, tweet: str, **fields: Any) -> dict[str, Any]:
    return {"userId": user, "tweetId": tweet, "likeSeq": 0, "unlikedAt": None, "pubsubMessageId": "1", **fields}


def _told(ledger: Ledger, user: str, tweet: str, status: str) -> None:
    ledger.key(user, tweet).told.append((status, "first send"))


def test_a_balanced_run_balances() -> None:
    """One tweet told, stored, published once: nothing to report."""
    ledger = Ledger()
    _told(ledger, "u", "1", "published")
    result = audit(ledger, [_message("u", "1", time.time())], FaultLog(), {"u_1": _stored("u", "1")}, {}, {}, True)
    assert result.balanced, result.problems


def test_a_tweet_answered_200_but_not_stored_is_lost() -> None:
    """Told `queued`, absent from Firestore: lost and a 200 missing from Firestore."""
    ledger = Ledger()
    _told(ledger, "u", "1", "queued")
    result = audit(ledger, [], FaultLog(), {}, {}, {}, True)
    assert [p["dedupKey"] for p in result.problems["lost"]] == ["u_1"]
    assert [p["dedupKey"] for p in result.problems["answered_200_not_stored"]] == ["u_1"]


def test_a_stored_tweet_without_a_message_and_a_stray_message_are_reported() -> None:
    """A stored like never published, and a message for a tweet nobody captured."""
    ledger = Ledger()
    _told(ledger, "u", "1", "duplicate")
    tweets = {"u_1": _stored("u", "1")}
    result = audit(ledger, [_message("u", "9", time.time())], FaultLog(), tweets, {}, {}, True)
    assert result.problems["events_not_on_topic"] == [{"dedupKey": "u_1", "sequence": 0}]
    assert [p["dedupKey"] for p in result.problems["messages_for_uncaptured"]] == ["u_9"]


def test_a_second_copy_is_explained_only_by_a_crash_near_its_first_publish() -> None:
    """Two copies of one event: unexplained without a fault, `kill api` with a kill right after the first."""
    ledger = Ledger()
    _told(ledger, "u", "1", "published")
    at = time.time() - 100
    copies = [_message("u", "1", at, mid="1"), _message("u", "1", at + 120, mid="2")]
    tweets = {"u_1": _stored("u", "1")}
    alone = audit(ledger, copies, FaultLog(), tweets, {}, {}, True)
    assert len(alone.problems["unexplained_copies"]) == 1
    faults = FaultLog()
    kill = faults.open("kill api")
    kill.start, kill.end = at + 0.5, at + 2
    explained = audit(ledger, copies, faults, tweets, {}, {}, True)
    assert explained.balanced, explained.problems
    assert explained.figures["extra_copies_by_crash_point"] == {"kill api between publish and settle": 1}


def test_the_last_event_must_match_the_stored_state_and_the_client() -> None:
    """Unliked in Firestore but the last message is a like, and the client was last told `unliked`."""
    ledger = Ledger()
    _told(ledger, "u", "1", "published")
    ledger.key("u", "1").state = "liked"
    tweets = {"u_1": _stored("u", "1", likeSeq=1, unlikedAt="now", deliveries={"0": "1", "1": "2"})}
    messages = [_message("u", "1", time.time()), _message("u", "1", time.time(), 1, "liked", "2")]
    result = audit(ledger, messages, FaultLog(), tweets, {}, {}, True)
    assert len(result.problems["final_state_mismatch"]) == 2
    assert result.problems["inconsistent_messages"] == []


def test_queue_items_left_and_held_tweets_are_reported() -> None:
    """A pending item after the final replays, a failed one, and a tweet the client still holds."""
    ledger = Ledger()
    ledger.key("u", "2")
    queue = {"u_1": {"status": "pending"}, "u_3": {"status": "failed", "attempts": 5, "errorMessage": "down"}}
    result = audit(ledger, [], FaultLog(), {}, queue, {("u", "2"): "like"}, True)
    assert result.problems["queue_active"] == [{"item": "u_1", "status": "pending"}]
    assert result.problems["queue_failed"] == [{"item": "u_3", "attempts": 5, "error": "down"}]
    assert [p["dedupKey"] for p in result.problems["lost"]] == ["u_2"]
