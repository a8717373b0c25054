"""The queue view and the queue retry through their entry points on the emulators, with Pub/Sub really unreachable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.samples import scheduler_tick
from shared.logs import get_logger
from tests.support import (
    PROJECT,
    assert_problem,
    function_client,
    pubsub_down,
    pull,
    register,
    subscribe,
    tweet_body,
)

ITEM_FIELDS = {
    "tweetId",
    "event",
    "sequence",
    "replay",
    "status",
    "attempts",
    "lastError",
    "nextAttemptAt",
    "createdAt",
}


def _auth(user: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {user['accessToken']}"}


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _queue(user: dict[str, Any], **query: Any) -> dict[str, Any]:
    return _ok(function_client("queue_status").get("/", query_string=query, headers=_auth(user)))


def _retry(user: dict[str, Any], body: dict[str, Any]) -> int:
    return _ok(function_client("queue_retry").post("/", json=body, headers=_auth(user)))["retried"]


def _status(user: dict[str, Any], tweet_id: str) -> str:
    answer = _ok(function_client("lookup").post("/", json={"tweetIds": [tweet_id]}, headers=_auth(user)))
    return answer["tweets"][tweet_id]["status"]


def _tick() -> None:
    headers, body = scheduler_tick(PROJECT)
    assert function_client("retry_queue").post("/", data=body, headers=headers).status_code == 200


def _queued(user: dict[str, Any], setenv: Callable[..., None], count: int = 1) -> list[dict[str, Any]]:
    """Captures made while Pub/Sub is unreachable: stored, their events waiting in the queue."""
    tweets = [tweet_body() for _ in range(count)]
    with pubsub_down(setenv):
        response = function_client("capture_batch").post("/", json={"tweets": tweets}, headers=_auth(user))
    assert _ok(response)["summary"]["queued"] == count
    return tweets


def _failed(user: dict[str, Any], setenv: Callable[..., None], count: int = 1) -> list[dict[str, Any]]:
    """Queued captures on which the replay gave up (MAX_RETRY_ATTEMPTS=1; a run stops at its first failed publish)."""
    tweets = _queued(user, setenv, count)
    setenv(MAX_RETRY_ATTEMPTS="1")
    with pubsub_down(setenv):
        for _ in tweets:
            _tick()
    return tweets


@pytest.fixture(name="user")
def _user() -> dict[str, Any]:
    return register()


def test_a_capture_made_during_an_outage_shows_as_pending_to_its_owner_only(
    user: dict[str, Any], setenv: Callable[..., None]
) -> None:
    """Pending: its event, sequence, no replay attempt yet, the publish error, when it is due; nobody else sees it."""
    (tweet,) = _queued(user, setenv)
    page = _queue(user)
    assert page["nextCursor"] is None
    (item,) = page["items"]
    assert set(item) == ITEM_FIELDS
    assert (item["tweetId"], item["event"], item["sequence"], item["status"], item["attempts"]) == (
        tweet["tweetId"], "liked", 0, "pending", 0,
    )  # fmt: skip
    assert item["replay"] is False and item["lastError"]
    assert item["createdAt"].endswith("Z") and item["nextAttemptAt"].endswith("Z")
    assert _queue(register()) == {"items": [], "nextCursor": None}


def test_a_failed_publish_by_the_replay_is_retrying_until_attempts_run_out(
    user: dict[str, Any], setenv: Callable[..., None]
) -> None:
    """After one failed replay attempt of three the item is `retrying`, due again after the backoff."""
    _queued(user, setenv)
    setenv(MAX_RETRY_ATTEMPTS="3")
    with pubsub_down(setenv):
        _tick()
    (item,) = _queue(user, status="retrying")["items"]
    assert item["attempts"] == 1 and item["lastError"]
    due = datetime.fromisoformat(item["nextAttemptAt"])
    assert due > datetime.now(UTC) + timedelta(minutes=4)
    assert _queue(user, status="pending")["items"] == [] and _queue(user, status="failed")["items"] == []


def test_failed_shows_its_last_error_and_retry_gets_it_published_once(
    user: dict[str, Any], setenv: Callable[..., None], uid: str
) -> None:
    """Failed after MAX_RETRY_ATTEMPTS; retry makes it pending with attempts reset; one replay run publishes it."""
    (tweet,) = _failed(user, setenv)
    (item,) = _queue(user, status="failed")["items"]
    assert (item["status"], item["attempts"], item["nextAttemptAt"]) == ("failed", 1, None)
    assert item["lastError"]
    assert _status(user, tweet["tweetId"]) == "failed"
    stranger = register()
    assert _retry(stranger, {}) == 0 and _queue(stranger)["items"] == []
    assert _retry(user, {}) == 1
    (item,) = _queue(user)["items"]
    assert (item["status"], item["attempts"]) == ("pending", 0)
    assert _status(user, tweet["tweetId"]) == "queued"
    subscription = subscribe(f"queue-retry-{uid}")
    _tick()
    _tick()
    messages = [m for m in pull(subscription, expect=1) if m.attributes["userId"] == user["userId"]]
    assert [m.attributes["tweetId"] for m in messages] == [tweet["tweetId"]]
    assert _queue(user)["items"] == []
    assert _status(user, tweet["tweetId"]) == "published"


def test_retry_by_ids_retries_only_those(user: dict[str, Any], setenv: Callable[..., None]) -> None:
    """Given ids, only their failed items are pending again; the others stay failed."""
    first, second = _failed(user, setenv, 2)
    assert _retry(user, {"tweetIds": [first["tweetId"], tweet_body()["tweetId"]]}) == 1
    statuses = {item["tweetId"]: item["status"] for item in _queue(user)["items"]}
    assert statuses == {first["tweetId"]: "pending", second["tweetId"]: "failed"}


def test_a_failed_replay_leaves_the_capture_published(user: dict[str, Any], setenv: Callable[..., None]) -> None:
    """A republished capture whose replay item fails is listed as a failed replay; the capture stays `published`."""
    tweet = tweet_body()
    assert _ok(function_client("capture").post("/", json=tweet, headers=_auth(user)))["status"] == "published"
    with pubsub_down(setenv):
        republish = function_client("republish").post("/", json={"tweetIds": [tweet["tweetId"]]}, headers=_auth(user))
    assert _ok(republish)["queued"] == 1
    setenv(MAX_RETRY_ATTEMPTS="1")
    with pubsub_down(setenv):
        _tick()
    (item,) = _queue(user)["items"]
    assert (item["replay"], item["status"]) == (True, "failed")
    assert _status(user, tweet["tweetId"]) == "published"


def test_paging_yields_every_item_once(user: dict[str, Any], setenv: Callable[..., None]) -> None:
    """Pages of 2 from no cursor to a null one list each of 5 queued items once, oldest first."""
    tweets = _queued(user, setenv, 5)
    seen, cursor = [], None
    while True:
        page = _queue(user, limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert sorted(i["tweetId"] for i in seen) == sorted(t["tweetId"] for t in tweets)
    assert [i["createdAt"] for i in seen] == sorted(i["createdAt"] for i in seen)


def _cursor_of(user: dict[str, Any], setenv: Callable[..., None]) -> str:
    _queued(user, setenv, 2)
    return _queue(user, limit=1)["nextCursor"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "stuck"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_queries_are_a_400_invalid_input_problem(user: dict[str, Any], query: dict[str, Any], field: str) -> None:
    """An unknown status, a limit outside 1-500, an unreadable cursor: 400 invalid-input naming the parameter."""
    response = function_client("queue_status").get("/", query_string=query, headers=_auth(user))
    problem = assert_problem(response, 400)
    assert problem["type"] == "/problems/invalid-input" and field in problem["errors"]


def test_a_foreign_or_tampered_cursor_is_refused(user: dict[str, Any], setenv: Callable[..., None]) -> None:
    """Another user's cursor, or one altered by a character, is a 400 invalid-input problem."""
    cursor = _cursor_of(user, setenv)
    tampered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    for query, who in (({"cursor": cursor}, register()), ({"cursor": tampered}, user)):
        response = function_client("queue_status").get("/", query_string=query, headers=_auth(who))
        assert assert_problem(response, 400)["type"] == "/problems/invalid-input"


@pytest.mark.parametrize(
    "body",
    [{"tweetIds": []}, {"tweetIds": [str(10**17 + i) for i in range(501)]}, {"tweetIds": "1"}, {"tweetIDs": ["1"]}],
)
def test_bad_retry_bodies_are_a_400(user: dict[str, Any], body: dict[str, Any]) -> None:
    """0 or 501 ids, ids that are not a list, a misspelt field (never "retry all"): 400 invalid-input."""
    response = function_client("queue_retry").post("/", json=body, headers=_auth(user))
    assert assert_problem(response, 400)["type"] == "/problems/invalid-input"


def test_the_router_serves_both_and_retry_is_audited(
    user: dict[str, Any], setenv: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    """GET /api/queue and POST /api/queue/retry on the router; the retry logs one audit line without secrets."""
    _failed(user, setenv)
    api = function_client("api")
    assert _ok(api.get("/api/queue", headers=_auth(user)))["items"][0]["status"] == "failed"
    logger = get_logger()
    logger.addHandler(caplog.handler)
    try:
        assert _ok(api.post("/api/queue/retry", json={}, headers=_auth(user)))["retried"] == 1
    finally:
        logger.removeHandler(caplog.handler)
    audits = [r.fields for r in caplog.records if getattr(r, "fields", {}).get("event") == "queue.retry"]
    assert audits == [{"event": "queue.retry", "userId": user["userId"], "clientAddress": "127.0.0.1", "count": 1}]
    assert user["accessToken"] not in caplog.text
