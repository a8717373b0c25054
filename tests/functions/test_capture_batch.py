"""The capture_batch entry point: per-item results, in-batch and earlier duplicates, budgets, bad requests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.db import TWEETS, dedup_key
from tests.support import assert_problem, decode, function_client, pull, register, subscribe, tweet_body


@pytest.fixture(name="user")
def _user() -> dict[str, Any]:
    return register()


def _batch(token: str, body: Any, target: str = "capture_batch", path: str = "/", **kwargs: Any) -> Any:
    return function_client(target).post(path, json=body, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def _stored(db: Any, user: dict[str, Any], tweet_id: str) -> bool:
    return db.collection(TWEETS).document(dedup_key(user["userId"], tweet_id)).get().exists


@pytest.mark.parametrize(("target", "path"), [("capture_batch", "/"), ("api", "/api/tweets/capture/batch")])
def test_a_batch_of_new_tweets_is_published_in_order(user: dict[str, Any], uid: str, target: str, path: str) -> None:
    """Every new tweet is published once: one result per item in request order, each with its message id."""
    subscription = subscribe(f"batch-{uid}")
    tweets = [tweet_body() for _ in range(30)]
    response = _batch(user["accessToken"], {"tweets": tweets}, target, path)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert [r["index"] for r in body["results"]] == list(range(30))
    assert [r["tweetId"] for r in body["results"]] == [t["tweetId"] for t in tweets]
    assert {r["status"] for r in body["results"]} == {"published"}
    assert body["summary"] == {"published": 30, "queued": 0, "duplicate": 0, "invalid": 0, "rate_limited": 0}
    messages = pull(subscription, expect=30)
    assert sorted(m.message_id for m in messages) == sorted(r["messageId"] for r in body["results"])
    assert {m.attributes["source"] for m in messages} == {"chrome-extension"}
    assert "Retry-After" not in response.headers


def test_a_mixed_batch_reports_each_item(user: dict[str, Any], db: Any, uid: str, setenv: Any) -> None:
    """Valid, invalid (each field named), repeated, already captured and over-budget items, each in its place.

    The budget counts the distinct valid items in request order, new or already captured: 1 + 4 of 5 here
    (the day's budget, so that a minute turning over mid-test changes nothing).
    """
    setenv(DAILY_CAPTURE_LIMIT="5")
    subscription = subscribe(f"mixed-{uid}")
    earlier = tweet_body()
    assert _batch(user["accessToken"], {"tweets": [earlier]}).get_json()["summary"]["published"] == 1
    fresh = [tweet_body() for _ in range(4)]
    items = [
        fresh[0],
        {**tweet_body(), "tweetId": "0123", "isReply": "yes", "threadId": None, "conversationId": None},
        fresh[0],
        earlier,
        {"tweetText": "no id", "authorUsername": "a"},
        fresh[1],
        fresh[2],
        fresh[3],
        {**tweet_body(), "tweetId": 12345},
    ]
    response = _batch(user["accessToken"], {"tweets": items})
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [
        "published", "invalid", "duplicate", "duplicate", "invalid", "published", "published",
        "rate_limited", "invalid",
    ]  # fmt: skip
    assert set(results[1]["errors"]) == {"tweetId", "isReply"} and results[1]["tweetId"] == "0123"
    assert set(results[4]["errors"]) == {"tweetId"} and results[4]["tweetId"] is None
    assert results[8]["tweetId"] is None
    assert results[2]["tweetId"] == results[0]["tweetId"] and "messageId" not in results[2]
    assert 1 <= int(response.headers["Retry-After"]) <= 24 * 3600
    assert response.get_json()["summary"] == {
        "published": 3, "queued": 0, "duplicate": 2, "invalid": 3, "rate_limited": 1,
    }  # fmt: skip
    assert not _stored(db, user, fresh[3]["tweetId"])  # rate limited: not stored
    assert not _stored(db, user, "0123")
    published = {m.attributes["tweetId"] for m in pull(subscription, expect=4)}
    assert published == {earlier["tweetId"], fresh[0]["tweetId"], fresh[1]["tweetId"], fresh[2]["tweetId"]}


def test_a_rate_limited_item_goes_through_once_the_window_has_room(user: dict[str, Any], setenv: Any) -> None:
    """Refused items are given back to the budget: a full batch is all rate_limited, not charged."""
    setenv(BATCH_RATE_LIMIT_PER_MINUTE="3")
    first = _batch(user["accessToken"], {"tweets": [tweet_body() for _ in range(3)]}).get_json()["summary"]
    if first["published"] != 3:  # the minute turned over mid-test: try again in the new one
        first = _batch(user["accessToken"], {"tweets": [tweet_body() for _ in range(3)]}).get_json()["summary"]
    assert first["published"] == 3
    refused = _batch(user["accessToken"], {"tweets": [tweet_body(), tweet_body()]})
    assert refused.get_json()["summary"]["rate_limited"] == 2 and "Retry-After" in refused.headers


def test_invalid_items_leave_the_budget_as_they_found_it(user: dict[str, Any], setenv: Any) -> None:
    """Invalid items never count against the budget: the valid ones after them still find their room."""
    setenv(DAILY_CAPTURE_LIMIT="5")
    invalid = [{**tweet_body(), "tweetText": None} for _ in range(3)]
    first = _batch(user["accessToken"], {"tweets": [*invalid, tweet_body(), tweet_body()]}).get_json()["summary"]
    assert (first["invalid"], first["published"]) == (3, 2)
    assert _batch(user["accessToken"], {"tweets": invalid}).get_json()["summary"]["invalid"] == 3
    second = _batch(user["accessToken"], {"tweets": [tweet_body() for _ in range(4)]}).get_json()["summary"]
    assert (second["published"], second["rate_limited"]) == (3, 1)


def test_an_item_with_a_huge_url_is_invalid_not_a_server_error(user: dict[str, Any]) -> None:
    """Inside the 1 MiB body, one item could be nearly a Firestore document's limit: its URL is refused first."""
    huge = {**tweet_body(), "tweetUrl": "https://x.com/" + "a" * 900_000}
    response = _batch(user["accessToken"], {"tweets": [huge, tweet_body()]})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["invalid", "published"] and "tweetUrl" in results[0]["errors"]


def test_the_daily_budget_covers_single_and_batch_captures(user: dict[str, Any], setenv: Any) -> None:
    """DAILY_CAPTURE_LIMIT counts single captures and batch items together; past it, 429 and rate_limited."""
    setenv(DAILY_CAPTURE_LIMIT="5")
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    assert function_client("capture").post("/", json=tweet_body(), headers=headers).status_code == 200
    summary = _batch(user["accessToken"], {"tweets": [tweet_body() for _ in range(6)]}).get_json()["summary"]
    assert (summary["published"], summary["rate_limited"]) == (4, 2)
    refused = function_client("capture").post("/", json=tweet_body(), headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60


def test_archive_items_need_no_author(user: dict[str, Any], db: Any, uid: str) -> None:
    """`source: archive` items may omit authorUsername; their messages say source archive."""
    subscription = subscribe(f"archive-{uid}")
    like = {"tweetId": "20", "tweetText": "just setting up my twttr", "source": "archive"}
    missing = {"tweetId": "21", "tweetText": "no author, not archive"}
    results = _batch(user["accessToken"], {"tweets": [like, missing]}).get_json()["results"]
    assert [r["status"] for r in results] == ["published", "invalid"]
    assert results[1]["errors"] == {"authorUsername": ["Missing data for required field."]}
    (message,) = pull(subscription, expect=1)
    assert message.attributes["source"] == "archive" and decode(message)["data"]["authorUsername"] is None
    assert db.collection(TWEETS).document(f"{user['userId']}_20").get().get("rawData")["source"] == "archive"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 400),
        (b'{"tweets": "x"}', 400),
        (b"{}", 400),
        (b'{"tweets": []}', 400),
        (json.dumps({"tweets": [tweet_body() for _ in range(101)]}).encode(), 400),
        (json.dumps({"tweets": [{"tweetText": "x" * 1000}] * 1100}).encode(), 413),
    ],
    ids=["not-json", "not-object", "not-list", "missing", "empty", "101-items", "over-1-mib"],
)
def test_a_malformed_batch_is_refused_whole(user: dict[str, Any], db: Any, body: bytes, status: int) -> None:
    """Unusable requests are one 4xx problem for the batch, and nothing is stored."""
    response = function_client("capture_batch").post(
        "/", data=body, content_type="application/json", headers={"Authorization": f"Bearer {user['accessToken']}"}
    )
    problem = assert_problem(response, status)
    if status == 400 and body.startswith(b"{") and b"tweets" in body:
        assert "tweets" in problem["errors"]
    assert not list(db.collection(TWEETS).limit(1).get())


@pytest.mark.parametrize("item", ["nope", 42, None, [], [{"tweetId": "20"}], True], ids=repr)
def test_an_item_that_is_not_an_object_is_invalid_in_its_place(user: dict[str, Any], item: Any) -> None:
    """A string, number, null, list or boolean item is `invalid` (no tweetId, its errors), the others captured."""
    tweets = [tweet_body(), item, tweet_body()]
    response = _batch(user["accessToken"], {"tweets": tweets})
    assert response.status_code == 200, response.get_data(as_text=True)
    first, bad, last = response.get_json()["results"]
    assert first["status"] == last["status"] == "published"
    assert {k: bad[k] for k in ("index", "tweetId", "status")} == {"index": 1, "tweetId": None, "status": "invalid"}
    assert bad["errors"] and all(isinstance(m, list) and m for m in bad["errors"].values())


def test_a_batch_of_100_is_accepted_up_to_1_mib(user: dict[str, Any]) -> None:
    """A hundred items with long texts (well over 64 KiB in all) are one valid batch."""
    tweets = [tweet_body(tweetText="t" * 4000) for _ in range(100)]
    response = _batch(user["accessToken"], {"tweets": tweets})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["summary"]["published"] == 100


def test_a_batch_needs_an_access_token() -> None:
    """Without a token the batch is a 401 challenge, before its body is read."""
    response = function_client("capture_batch").post("/", json={"tweets": [tweet_body()]})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
