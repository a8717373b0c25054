"""Republish through its entry point on the emulators: the current state of each capture, sent again, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from devtools.opscenarios import Counting
from devtools.samples import scheduler_tick
from shared.db import QUEUE, TWEETS, dedup_key
from shared.logs import get_logger
from shared.tweets.likes import Cursor
from tests.support import (
    JWT_KEY,
    PROJECT,
    assert_problem,
    function_client,
    pubsub_down,
    pull,
    register,
    subscribe,
    tweet_body,
)

REPLAY = "true"


def _auth(user: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {user['accessToken']}"}


def _capture(user: dict[str, Any], tweets: list[dict[str, Any]]) -> None:
    response = function_client("capture_batch").post("/", json={"tweets": tweets}, headers=_auth(user))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["summary"]["published"] == len(tweets)


def _republish(user: dict[str, Any], body: dict[str, Any], target: str = "republish", path: str = "/") -> Any:
    return function_client(target).post(path, json=body, headers=_auth(user))


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _tick() -> None:
    """One run of the retry_queue function, as Cloud Scheduler's tick starts it."""
    headers, body = scheduler_tick(PROJECT)
    assert function_client("retry_queue").post("/", data=body, headers=headers).status_code == 200


def _of(messages: list[Any], user: dict[str, Any]) -> list[Any]:
    return [m for m in messages if m.attributes["userId"] == user["userId"]]


@pytest.fixture(name="user")
def _user() -> dict[str, Any]:
    return register()


def test_republish_by_ids_sends_each_captures_current_state_once(user: dict[str, Any], db: Any, uid: str) -> None:
    """One replay message per captured id with its current event and sequence; unknown and foreign ids are absent."""
    liked, unliked, stranger = tweet_body(), tweet_body(), register()
    _capture(user, [liked, unliked])
    foreign = tweet_body()
    _capture(stranger, [foreign])
    assert (
        function_client("unlike").post("/", json={"tweetId": unliked["tweetId"]}, headers=_auth(user)).status_code
        == 200
    )
    before = db.collection(TWEETS).document(dedup_key(user["userId"], liked["tweetId"])).get().to_dict()
    subscription = subscribe(f"republish-ids-{uid}")
    never = tweet_body()["tweetId"]
    ids = [liked["tweetId"], unliked["tweetId"], never, foreign["tweetId"], liked["tweetId"]]
    answer = _ok(_republish(user, {"tweetIds": ids}))
    assert answer == {"republished": 2, "queued": 0, "absent": [never, foreign["tweetId"]], "nextCursor": None}
    messages = pull(subscription, expect=2)
    assert len(messages) == 2 and not _of(messages, stranger)
    by_id = {m.attributes["tweetId"]: m for m in messages}
    assert {k: (m.attributes["event"], m.attributes["sequence"], m.attributes["replay"]) for k, m in by_id.items()} == {
        liked["tweetId"]: ("liked", "0", REPLAY),
        unliked["tweetId"]: ("unliked", "1", REPLAY),
    }
    assert by_id[liked["tweetId"]].attributes["dedupKey"] == dedup_key(user["userId"], liked["tweetId"])
    assert by_id[liked["tweetId"]].data and b'"tweetText"' in by_id[liked["tweetId"]].data
    assert b'"unlikedAt"' in by_id[unliked["tweetId"]].data
    after = db.collection(TWEETS).document(dedup_key(user["userId"], liked["tweetId"])).get().to_dict()
    assert after == before  # a replay changes nothing on the capture
    assert list(db.collection(QUEUE).limit(1).get()) == []


def test_paging_by_since_covers_every_capture_once_while_new_ones_arrive(
    user: dict[str, Any], setenv: Callable[..., None], uid: str
) -> None:
    """From `since` to a null cursor, every capture at or after it goes out exactly once, new arrivals included."""
    setenv(BATCH_RATE_LIMIT_PER_MINUTE="5000")
    early, stranger = tweet_body(), register()
    _capture(user, [early])
    tweets = [tweet_body() for _ in range(520)]
    for start in range(0, len(tweets), 100):
        _capture(user, tweets[start : start + 100])
    listing = function_client("list_tweets").get("/", query_string={"limit": 2}, headers=_auth(user)).get_json()
    since = listing["tweets"][1]["createdAt"]  # the first of the 520: `early` was created before it
    subscription = subscribe(f"republish-since-{uid}")
    arrivals: list[dict[str, Any]] = []
    body: dict[str, Any] = {"since": since}
    calls = 0
    while True:
        answer = _ok(_republish(user, body))
        calls += 1
        assert answer["queued"] == 0 and answer["absent"] == []
        if answer["nextCursor"] is None:
            break
        arrival = tweet_body()
        _capture(user, [arrival])
        arrivals.append(arrival)
        body = {"since": since, "cursor": answer["nextCursor"]}
        _capture(stranger, [tweet_body()])
    assert calls == 2
    expected = {t["tweetId"] for t in tweets + arrivals}
    received = pull(subscription, expect=len(expected) + 2 * len(arrivals), timeout=30)
    assert all(m.attributes.get("replay") != REPLAY for m in _of(received, stranger))
    messages = _of(received, user)
    replays = Counter(m.attributes["tweetId"] for m in messages if m.attributes.get("replay") == REPLAY)
    assert set(replays) == expected and set(replays.values()) == {1}
    assert early["tweetId"] not in replays


def test_an_outage_queues_them_and_one_replay_run_publishes_each_once(
    user: dict[str, Any], setenv: Callable[..., None], db: Any, uid: str
) -> None:
    """Pub/Sub down: republished captures are `queued` (their items written with them); one tick publishes each once."""
    tweets = [tweet_body() for _ in range(3)]
    _capture(user, tweets)
    subscription = subscribe(f"republish-outage-{uid}")
    with pubsub_down(setenv):
        answer = _ok(_republish(user, {"tweetIds": [t["tweetId"] for t in tweets]}))
    assert answer == {"republished": 0, "queued": 3, "absent": [], "nextCursor": None}
    items = [s.to_dict() for s in db.collection(QUEUE).get()]
    assert sorted(i["tweetId"] for i in items) == sorted(t["tweetId"] for t in tweets)
    assert all(i["replay"] is True and i["status"] == "pending" and i["errorMessage"] for i in items)
    _tick()
    _tick()
    messages = _of(pull(subscription, expect=3), user)
    assert sorted(m.attributes["tweetId"] for m in messages) == sorted(t["tweetId"] for t in tweets)
    assert {m.attributes["replay"] for m in messages} == {REPLAY}
    assert list(db.collection(QUEUE).get()) == []


def test_republished_captures_count_against_the_capture_budget(
    user: dict[str, Any], setenv: Callable[..., None], db: Any, uid: str
) -> None:
    """Over the budget the whole call is a 429 with Retry-After, and nothing is queued or published."""
    tweets = [tweet_body() for _ in range(3)]
    for tweet in tweets:
        assert function_client("capture").post("/", json=tweet, headers=_auth(user)).status_code == 200
    setenv(BATCH_RATE_LIMIT_PER_MINUTE="4")
    ids = [t["tweetId"] for t in tweets]
    assert _ok(_republish(user, {"tweetIds": ids}))["republished"] == 3
    subscription = subscribe(f"republish-budget-{uid}")
    refused = _republish(user, {"tweetIds": ids})
    problem = assert_problem(refused, 429)
    assert problem["type"] == "/problems/rate-limited" and int(refused.headers["Retry-After"]) >= 1
    assert list(db.collection(QUEUE).get()) == []
    assert _of(pull(subscription, expect=0, timeout=2), user) == []
    assert _ok(_republish(user, {"tweetIds": ids[:1]}))["republished"] == 1  # one still fits: the refusal gave back


def test_a_500_capture_page_is_committed_a_chunk_at_a_time(setenv: Callable[..., None]) -> None:
    """500 captures republished: queue items go in commits of 100, each published and settled before the next."""
    counting = Counting.start(function_client, setenv)
    setenv(BATCH_RATE_LIMIT_PER_MINUTE="5000")
    user = register()
    tweets = [tweet_body() for _ in range(500)]
    for start in range(0, len(tweets), 100):
        _capture(user, tweets[start : start + 100])
    case = counting.post("republish", {"tweetIds": [t["tweetId"] for t in tweets]}, 200, user["accessToken"])
    assert case.body["republished"] == 500
    # the budgets' four counters; then per chunk its 100 queue items, and its settle (the 100 items deleted)
    assert counting.counter.commit_sizes == [4] + [100, 100] * 5


def test_a_page_by_date_holds_what_the_capture_budget_has_room_for(
    user: dict[str, Any], setenv: Callable[..., None]
) -> None:
    """With one batch capture a minute left, a republish by `since` sends one capture and hands a cursor, not a 429."""
    tweets = [tweet_body() for _ in range(2)]
    for tweet in tweets:
        assert function_client("capture").post("/", json=tweet, headers=_auth(user)).status_code == 200
    setenv(BATCH_RATE_LIMIT_PER_MINUTE="1")
    answer = _ok(_republish(user, {"since": "2020-01-01T00:00:00Z"}))
    assert answer["republished"] == 1 and answer["nextCursor"] is not None


def _foreign_cursor() -> str:
    return Cursor("2025-01-01T00:00:00Z", 0, "someone_1").encode("someone-else", JWT_KEY, Cursor.REPUBLISH)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tweetIds": []}, "tweetIds"),
        ({"tweetIds": [str(10**17 + i) for i in range(501)]}, "tweetIds"),
        ({"tweetIds": ["0"]}, "tweetIds.0"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2025-02-30T00:00:00Z"}, "since"),
        ({}, "tweetIds"),
        ({"tweetIds": ["1"], "since": "2025-01-01"}, "tweetIds"),
        ({"tweetIds": ["1"], "cursor": "abc"}, "cursor"),
        ({"since": "2025-01-01", "cursor": "not-a-cursor"}, "cursor"),
        ({"since": "2025-01-01", "cursor": _foreign_cursor()}, "cursor"),
        ({"since": "2025-01-01", "cursor": _foreign_cursor()[:-2] + "AA"}, "cursor"),
    ],
    ids=[
        "no-ids",
        "501-ids",
        "bad-id",
        "bad-since",
        "no-such-day",
        "empty",
        "both",
        "cursor-without-since",
        "garbage-cursor",
        "foreign-cursor",
        "tampered-cursor",
    ],
)
def test_bad_input_is_a_400_invalid_input_problem(user: dict[str, Any], body: dict[str, Any], field: str) -> None:
    """0 or 501 ids, a bad since, a foreign or tampered cursor: a 400 invalid-input problem naming the field."""
    problem = assert_problem(_republish(user, body), 400)
    assert problem["type"] == "/problems/invalid-input"
    assert field in problem["errors"]


def test_through_the_api_router_and_logged_once_for_audit(
    user: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """POST /api/tweets/republish on the router works alike, and logs one audit line: user, address, count."""
    tweet = tweet_body()
    _capture(user, [tweet])
    logger = get_logger()
    logger.addHandler(caplog.handler)
    try:
        answer = _ok(_republish(user, {"tweetIds": [tweet["tweetId"]]}, "api", "/api/tweets/republish"))
    finally:
        logger.removeHandler(caplog.handler)
    assert answer["republished"] == 1
    audits = [r.fields for r in caplog.records if getattr(r, "fields", {}).get("event") == "republish"]
    assert audits == [{"event": "republish", "userId": user["userId"], "clientAddress": "127.0.0.1", "count": 1}]
    assert user["accessToken"] not in caplog.text
