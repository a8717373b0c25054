"""Lookup, the paged listing and unlike, through their entry points on the emulators."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shared.db import QUEUE, TWEETS, dedup_key
from tests.support import assert_problem, decode, function_client, pull, register, subscribe, tweet_body, tweet_id


def _auth(user: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {user['accessToken']}"}


def _capture(user: dict[str, Any], tweet: dict[str, Any]) -> dict[str, Any]:
    response = function_client("capture").post("/", json=tweet, headers=_auth(user))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _batch(user: dict[str, Any], tweets: list[dict[str, Any]]) -> None:
    response = function_client("capture_batch").post("/", json={"tweets": tweets}, headers=_auth(user))
    assert response.status_code == 200 and response.get_json()["summary"]["published"] == len(tweets)


def _lookup(user: dict[str, Any], ids: list[Any]) -> Any:
    return function_client("lookup").post("/", json={"tweetIds": ids}, headers=_auth(user))


def _unlike(user: dict[str, Any], tweet_id_: str, target: str = "unlike", path: str = "/") -> Any:
    return function_client(target).post(path, json={"tweetId": tweet_id_}, headers=_auth(user))


def _page(user: dict[str, Any], **query: Any) -> Any:
    return function_client("list_tweets").get("/", query_string=query, headers=_auth(user))


def _list_all(user: dict[str, Any], limit: int, during: Any = None) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = _page(user, **query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        items.extend(body["tweets"])
        cursor = body["nextCursor"]
        if during:
            during()
        if cursor is None:
            return items


@pytest.fixture(name="user")
def _user() -> dict[str, Any]:
    return register()


def test_lookup_tells_each_state(user: dict[str, Any], db: Any) -> None:
    """published, queued, failed, unliked and absent, each with its capture time (null when absent), once per id."""
    published, unliked, queued, failed = (tweet_body() for _ in range(4))
    for tweet in (published, unliked):
        _capture(user, tweet)
    assert _unlike(user, unliked["tweetId"]).get_json()["status"] == "unliked"
    for tweet, extra in ((queued, {}), (failed, {"failedSeq": 0})):
        _capture(user, tweet)
        ref = db.collection(TWEETS).document(dedup_key(user["userId"], tweet["tweetId"]))
        ref.update({"deliveries": {}, "pubsubMessageId": None, **extra})  # as if its publish never went through
    absent = tweet_id()
    ids = [published["tweetId"], unliked["tweetId"], queued["tweetId"], failed["tweetId"], absent, absent]
    response = _lookup(user, ids)
    assert response.status_code == 200
    tweets = response.get_json()["tweets"]
    assert list(tweets) == ids[:5]
    assert [tweets[i]["status"] for i in ids[:5]] == ["published", "unliked", "queued", "failed", "absent"]
    assert tweets[absent]["capturedAt"] is None and tweets[published["tweetId"]]["capturedAt"].endswith("Z")


def test_no_endpoint_reaches_another_users_captures(user: dict[str, Any]) -> None:
    """Two users capture one tweet: lookup, listing and unlike each see only their own."""
    other = register()
    shared_tweet, own_tweet = tweet_body(), tweet_body()
    _capture(user, shared_tweet)
    _capture(other, shared_tweet)
    _capture(other, own_tweet)
    assert _lookup(user, [own_tweet["tweetId"]]).get_json()["tweets"][own_tweet["tweetId"]]["status"] == "absent"
    assert _unlike(user, own_tweet["tweetId"]).status_code == 404
    assert [t["tweetId"] for t in _list_all(user, 10)] == [shared_tweet["tweetId"]]
    assert _unlike(user, shared_tweet["tweetId"]).get_json()["status"] == "unliked"
    assert (
        _lookup(other, [shared_tweet["tweetId"]]).get_json()["tweets"][shared_tweet["tweetId"]]["status"] == "published"
    )


def test_paging_yields_every_capture_once_in_order(user: dict[str, Any], setenv: Any) -> None:
    """1,234 captures, 100 a page: every tweet id exactly once, in capture order, then nextCursor null."""
    setenv(BATCH_RATE_LIMIT_PER_MINUTE="100000")
    tweets = [tweet_body() for _ in range(1234)]
    for start in range(0, len(tweets), 100):
        _batch(user, tweets[start : start + 100])
    listed = _list_all(user, 100)
    assert [t["tweetId"] for t in listed] == [t["tweetId"] for t in tweets]
    assert listed[0]["tweet"]["tweetId"] == tweets[0]["tweetId"] and listed[0]["unlikedAt"] is None
    assert [t["createdAt"] for t in listed] == sorted(t["createdAt"] for t in listed)


def test_captures_made_while_paging_appear_once_at_the_end(user: dict[str, Any], setenv: Any) -> None:
    """Another thread keeps capturing during the paging: the old ones once, in order, then the new ones once."""
    setenv(BATCH_RATE_LIMIT_PER_MINUTE="100000", RATE_LIMIT_PER_MINUTE="100000")
    old = [tweet_body() for _ in range(300)]
    for start in range(0, 300, 100):
        _batch(user, old[start : start + 100])
    new: list[str] = []
    stop = threading.Event()

    def keep_capturing() -> None:
        while not stop.is_set() and len(new) < 200:
            tweet = tweet_body()
            _capture(user, tweet)
            new.append(tweet["tweetId"])

    writer = threading.Thread(target=keep_capturing)
    writer.start()
    try:
        listed = [t["tweetId"] for t in _list_all(user, 25)]
    finally:
        stop.set()
        writer.join()
    assert listed[:300] == [t["tweetId"] for t in old]
    assert len(listed) == len(set(listed)) and set(listed[300:]) <= set(new)
    assert listed[300:] == [tid for tid in new if tid in set(listed[300:])]
    assert new, "the writer captured nothing during the paging"
    # Paging again from the start now finds every one of them.
    assert [t["tweetId"] for t in _list_all(user, 100)] == [t["tweetId"] for t in old] + new


@pytest.mark.parametrize("how", ["tampered", "foreign", "garbage"])
def test_a_cursor_not_handed_to_this_user_is_a_400(user: dict[str, Any], how: str) -> None:
    """An altered cursor, another user's or junk is a 400 naming the cursor, never a page of data."""
    other = register()
    for owner in (user, other):
        for _ in range(3):
            _capture(owner, tweet_body())
    mine = _page(user, limit=1).get_json()["nextCursor"]
    theirs = _page(other, limit=1).get_json()["nextCursor"]
    cursor = {"tampered": mine[:-2] + ("AA" if mine[-2:] != "AA" else "BB"), "foreign": theirs, "garbage": "%%%"}[how]
    problem = assert_problem(_page(user, limit=1, cursor=cursor), 400)
    assert "cursor" in problem["errors"]
    assert problem["detail"] == "The query string has invalid parameters."


@pytest.mark.parametrize("limit", ["0", "1001", "-5", "ten", "1.5", ""])
def test_a_bad_limit_is_a_400(user: dict[str, Any], limit: str) -> None:
    """Limit outside 1..1000 or not a whole number is a 400 naming it, and saying it is in the query string."""
    problem = assert_problem(_page(user, limit=limit), 400)
    assert "limit" in problem["errors"]
    assert problem["detail"] == "The query string has invalid parameters."


@pytest.mark.parametrize(
    ("ids", "named"),
    [
        ([], ["tweetIds"]),
        ([tweet_id() for _ in range(501)], ["tweetIds"]),
        ([tweet_id(), "0", tweet_id(), "12a", 5], ["tweetIds.1", "tweetIds.3", "tweetIds.4"]),
        ("123", ["tweetIds"]),
    ],
    ids=["none", "501", "bad-ids", "not-a-list"],
)
def test_a_bad_lookup_is_a_400_naming_each_id(user: dict[str, Any], ids: Any, named: list[str]) -> None:
    """0 or 501 ids, or ids breaking the tweet-id rule (each named by its position): 400 problem JSON."""
    problem = assert_problem(_lookup(user, ids), 400)
    assert sorted(problem["errors"]) == named


def test_like_unlike_like_publishes_three_events_in_order(user: dict[str, Any], uid: str, db: Any) -> None:
    """liked, unliked, liked with one dedupKey and rising sequence; lookup and listing show the final state."""
    subscription = subscribe(f"relike-{uid}")
    tweet = tweet_body()
    assert _capture(user, tweet)["status"] == "published"
    first = _unlike(user, tweet["tweetId"], "api", "/api/tweets/unlike")
    assert first.status_code == 200 and first.get_json() == {"status": "unliked", "tweetId": tweet["tweetId"]}
    assert _lookup(user, [tweet["tweetId"]]).get_json()["tweets"][tweet["tweetId"]]["status"] == "unliked"
    assert _unlike(user, tweet["tweetId"]).get_json()["status"] == "already_unliked"
    again = _capture(user, tweet)
    assert again["status"] == "published"
    messages = sorted(pull(subscription, expect=3), key=lambda m: int(m.attributes["sequence"]))
    assert [m.attributes["event"] for m in messages] == ["liked", "unliked", "liked"]
    assert [m.attributes["sequence"] for m in messages] == ["0", "1", "2"]
    assert {m.attributes["dedupKey"] for m in messages} == {f"{user['userId']}_{tweet['tweetId']}"}
    assert decode(messages[1])["data"]["tweetId"] == tweet["tweetId"] and decode(messages[1])["data"]["unlikedAt"]
    assert messages[2].message_id == again["messageId"]
    (listed,) = _list_all(user, 10)
    assert listed["status"] == "published" and listed["unlikedAt"] is None
    assert not list(db.collection(QUEUE).limit(1).get())


def test_unlike_of_a_tweet_never_captured_is_a_404(user: dict[str, Any]) -> None:
    """No capture, no unlike: 404 problem JSON, nothing published."""
    assert_problem(_unlike(user, tweet_id()), 404)


def test_concurrent_unlike_and_recapture_end_consistent(user: dict[str, Any], uid: str) -> None:
    """Unlikes and re-captures of one tweet racing: the stored state is what the highest-sequence message says."""
    subscription = subscribe(f"race-{uid}")
    tweet = tweet_body()
    _capture(user, tweet)
    calls = [lambda: _unlike(user, tweet["tweetId"]), lambda: _capture(user, tweet)] * 4
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = _lookup(user, [tweet["tweetId"]]).get_json()["tweets"][tweet["tweetId"]]["status"]
    messages = pull(subscription, expect=1, settle=2.0)
    sequences = [int(m.attributes["sequence"]) for m in messages]
    assert sorted(sequences) == list(range(len(sequences))), "every sequence number published exactly once"
    last = max(messages, key=lambda m: int(m.attributes["sequence"]))
    assert state == ("unliked" if last.attributes["event"] == "unliked" else "published")
