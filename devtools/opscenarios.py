"""The requests whose Firestore operations are counted, run in-process against the real entry points.

One scenario per request and path (register, refresh, a published or duplicate
capture, …), each returning the counts its request cost on the wire. Shared by
tests/functions/test_firestore_operations.py, which asserts them, and the
benchmark, which prints them all as a table.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient

from devtools.emulators import free_port
from devtools.opcount import OpCounter, count_operations
from devtools.samples import new_email, scheduler_tick, tweet_body
from shared import clients
from shared.config import get_settings

PASSWORD = "Correct-Horse-9"  # noqa: S105 - throwaway accounts on the emulator
WRONG_PASSWORD = "Wrong-Horse-9"  # noqa: S105


@dataclass(frozen=True)
class Case:
    """One counted request: its status, whether it answered as the scenario expects, and its operations."""

    status: int
    as_expected: bool
    ops: Mapping[str, int]
    body: Mapping[str, Any]

    @property
    def reads(self) -> int:
        """Document reads billed."""
        return self.ops.get("reads", 0)

    @property
    def writes(self) -> int:
        """Document writes billed."""
        return self.ops.get("writes", 0)

    @property
    def deletes(self) -> int:
        """Document deletes billed."""
        return self.ops.get("deletes", 0)

    def row(self) -> dict[str, Any]:
        """The case as the benchmark reports it."""
        return {
            "status": self.status,
            "as_expected": self.as_expected,
            "reads": self.reads,
            "writes": self.writes,
            "deletes": self.deletes,
            "failed_commits": self.ops.get("failed_commits", 0),
            "rpcs": {k[4:]: v for k, v in sorted(self.ops.items()) if k.startswith("rpc:")},
        }


@dataclass(frozen=True)
class Counting:
    """What a scenario runs with: a test client per entry point, the instance's counted client, settings."""

    client: Callable[[str], FlaskClient]
    counter: OpCounter
    setenv: Callable[..., None]

    @classmethod
    def start(cls, client: Callable[[str], FlaskClient], setenv: Callable[..., None]) -> Counting:
        """Count every RPC of the instance's Firestore client, built now (call it after `clients.reset()`)."""
        return cls(client, count_operations(clients.firestore_client()), setenv)

    @contextlib.contextmanager
    def settings(self, **values: str) -> Iterator[None]:
        """Run with these configuration variables, then put back what was there (blank means the default)."""
        saved = {name: os.environ.get(name, "") for name in values}
        self.setenv(**values)
        try:
            yield
        finally:
            self.setenv(**saved)

    def count(self, call: Callable[[], Any], expect: int, **fields: Any) -> Case:
        """The operations of one request; as expected if it answers `expect` with `fields` in its body."""
        self.counter.reset()
        response = call()
        ops = self.counter.snapshot()
        body = response.get_json(silent=True) or {}
        ok = response.status_code == expect and all(body.get(k) == v for k, v in fields.items())
        return Case(response.status_code, ok, ops, body)

    def post(self, target: str, body: dict[str, Any], expect: int, token: str = "", **fields: Any) -> Case:
        """A counted JSON POST to an entry point (with a bearer token, when given)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.count(lambda: self.client(target).post("/", json=body, headers=headers), expect, **fields)


def credentials(email: str, password: str = PASSWORD) -> dict[str, str]:
    """A register or login body."""
    return {"email": email, "password": password}


def register(counting: Counting, email: str | None = None) -> Case:
    """A new account: e-mail claim, user and session."""
    return counting.post("register", credentials(email or new_email()), 201)


def login(counting: Counting, email: str, password: str = PASSWORD) -> Case:
    """A login, successful with PASSWORD, refused (401) with any other."""
    return counting.post("login", credentials(email, password), 200 if password == PASSWORD else 401)


def refresh(counting: Counting, refresh_token: str) -> Case:
    """A new access token for a live refresh token."""
    return counting.post("refresh", {"refreshToken": refresh_token}, 200)


def logout(counting: Counting, refresh_token: str) -> Case:
    """The session of a refresh token revoked."""
    return counting.post("logout", {"refreshToken": refresh_token}, 204)


def health(counting: Counting) -> Case:
    """A health check of both backends."""
    return counting.count(lambda: counting.client("health").get("/"), 200)


def retry_tick(counting: Counting) -> Case:
    """One Cloud Scheduler tick of the retry queue."""
    headers, body = scheduler_tick(get_settings().project_id)
    return counting.count(lambda: counting.client("retry_queue").post("/", data=body, headers=headers), 200)


def capture(counting: Counting, token: str, tweet: dict[str, Any], status: str) -> Case:
    """A capture expected to answer 200 with `status` (published, duplicate, queued)."""
    return counting.post("capture", tweet, 200, token, status=status)


def rate_limited_capture(counting: Counting) -> Case:
    """The second capture of a minute with RATE_LIMIT_PER_MINUTE=1, on a fresh account."""
    with counting.settings(RATE_LIMIT_PER_MINUTE="1"):
        for _ in range(3):  # a fresh account per try; retried only if a minute boundary fell between the two
            token = register(counting).body["accessToken"]
            capture(counting, token, tweet_body(), "published")
            limited = counting.post("capture", tweet_body(), 429, token)
            if limited.status == 429:
                break
    return limited


def queued_capture(counting: Counting, token: str, tweet: dict[str, Any]) -> Case:
    """A capture while Pub/Sub is unreachable for this instance only: a dead loopback port, a fresh publisher."""
    # discard(), not clients.reset(): a reset would close the counted Firestore client.
    clients.PUBLISHER.discard()
    try:
        with counting.settings(PUBSUB_EMULATOR_HOST=f"127.0.0.1:{free_port()}", PUBLISH_TIMEOUT_SECONDS="0.5"):
            return capture(counting, token, tweet, "queued")
    finally:
        clients.PUBLISHER.discard()


def replay(counting: Counting, user_id: str, tweet_id: str) -> Case:
    """A tick with one due queue item; as expected only if the item is gone afterwards."""
    case = retry_tick(counting)
    replayed = not clients.firestore_client().collection("queue").document(f"{user_id}_{tweet_id}").get().exists
    return Case(case.status, case.as_expected and replayed, case.ops, case.body)


def batch(counting: Counting, token: str, tweets: list[dict[str, Any]]) -> Case:
    """A batch capture; as expected when it answers 200."""
    return counting.post("capture_batch", {"tweets": tweets}, 200, token)


def lookup(counting: Counting, token: str, tweet_ids: list[str]) -> Case:
    """A lookup of these ids."""
    return counting.post("lookup", {"tweetIds": tweet_ids}, 200, token)


def list_page(counting: Counting, token: str, limit: int) -> Case:
    """The first page of the listing."""
    headers = {"Authorization": f"Bearer {token}"}
    return counting.count(lambda: counting.client("list_tweets").get(f"/?limit={limit}", headers=headers), 200)


def unlike(counting: Counting, token: str, tweet_id: str, status: str = "unliked") -> Case:
    """An unlike expected to answer `status` (unliked, already_unliked)."""
    return counting.post("unlike", {"tweetId": tweet_id}, 200, token, status=status)


def republish(counting: Counting, token: str, tweet_ids: list[str]) -> Case:
    """Captures sent again by id, all published."""
    return counting.post("republish", {"tweetIds": tweet_ids}, 200, token, republished=len(tweet_ids))


def queue_page(counting: Counting, token: str, limit: int) -> Case:
    """The first page of the queue view."""
    headers = {"Authorization": f"Bearer {token}"}
    return counting.count(lambda: counting.client("queue_status").get(f"/?limit={limit}", headers=headers), 200)


def queue_retry(counting: Counting, token: str) -> Case:
    """Every failed queue item of the user pending again."""
    return counting.post("queue_retry", {}, 200, token)


def every_case(counting: Counting) -> dict[str, Case]:
    """Every request and path the benchmark reports, in its order, on one fresh database."""
    cases: dict[str, Case] = {}
    email = new_email()
    cases["register"] = registered = register(counting, email)
    cases["login (success)"] = logged_in = login(counting, email)
    cases["login (wrong password)"] = login(counting, email, WRONG_PASSWORD)
    cases["refresh (rotation on)"] = refresh(counting, registered.body["refreshToken"])
    with counting.settings(REFRESH_TOKEN_ROTATION="false"):  # noqa: S106 - a setting, not a password
        cases["refresh (rotation off)"] = refresh(counting, logged_in.body["refreshToken"])
    cases["logout"] = logout(counting, registered.body["refreshToken"])
    cases["health"] = health(counting)
    cases["retry_queue (empty queue)"] = retry_tick(counting)
    token, tweet, queued = registered.body["accessToken"], tweet_body(), tweet_body()
    cases["capture (published)"] = capture(counting, token, tweet, "published")
    cases["capture (duplicate)"] = capture(counting, token, tweet, "duplicate")
    cases["capture (rate-limited)"] = rate_limited_capture(counting)
    cases["capture (queued)"] = queued_capture(counting, token, queued)
    cases["queue_status (1 item)"] = queue_page(counting, token, 100)
    cases["queue_retry (none failed)"] = queue_retry(counting, token)
    cases["retry_queue (one due item)"] = replay(counting, registered.body["userId"], queued["tweetId"])
    hundred = [tweet_body() for _ in range(100)]
    cases["capture_batch (100 new)"] = batch(counting, token, hundred)
    cases["capture_batch (100, 50 captured before)"] = batch(
        counting, token, hundred[:50] + [tweet_body() for _ in range(50)]
    )
    cases["republish (100 ids)"] = republish(counting, token, [t["tweetId"] for t in hundred])
    ids = [t["tweetId"] for t in hundred] + [tweet_body()["tweetId"] for _ in range(400)]
    cases["lookup (500 ids)"] = lookup(counting, token, ids)
    cases["list_tweets (page of 100)"] = list_page(counting, token, 100)
    cases["unlike"] = unlike(counting, token, tweet["tweetId"])
    cases["unlike (already unliked)"] = unlike(counting, token, tweet["tweetId"], "already_unliked")
    cases["capture (re-like)"] = capture(counting, token, tweet, "published")
    return cases
