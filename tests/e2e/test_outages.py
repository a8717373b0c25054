"""Outages for real: the emulators are stopped under running functions, then brought back.

These tests own a pair of emulators so that stopping them disturbs no other test.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devtools.emulators import create_topic
from devtools.samples import scheduler_tick
from devtools.server import FunctionServer, running
from shared.health import CACHE_SECONDS, CHECK_DEADLINE_SECONDS
from tests.support import (
    PROJECT,
    STRONG_PASSWORD,
    TOPIC,
    Emulators,
    new_email,
    pull,
    server_env,
    start_emulators,
    tweet_body,
)

pytestmark = pytest.mark.slow
PUBLISH_TIMEOUT = 3.0


@pytest.fixture(name="own", scope="module")
def _own() -> Iterator[Emulators]:
    running = start_emulators()
    yield running
    running.firestore.stop()
    running.pubsub.stop()


def _firestore_back(own: Emulators) -> None:
    """Start the stopped Firestore emulator and wait until it serves a read, not only its HTTP root.

    A freshly started emulator's first requests can take seconds on a loaded machine
    (its JVM is still warming up); the functions are tested on their recovery, not on that.
    """
    own.firestore.start()
    db = _firestore(own, "warm-up")
    deadline = time.monotonic() + 60
    while True:
        try:
            db.collection("warm-up").document("probe").get(retry=None, timeout=10)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _healthy_publish_seconds(stack: dict[str, FunctionServer], name: str, body: Any, headers: Any) -> float:
    """Seconds one request takes with both emulators up: the part of an outage answer that is not the timeout."""
    started = time.perf_counter()
    response = requests.post(stack[name].url, json=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


@pytest.fixture(name="stack")
def _stack(own: Emulators, uid: str, setenv: Any) -> Iterator[dict[str, FunctionServer]]:
    """capture, health, register and retry_queue processes on the module's emulators."""
    for emulator in (own.firestore, own.pubsub):
        if not emulator.ready():
            emulator.start()
    setenv(**own.env())
    create_topic(PROJECT, TOPIC)
    env = server_env(own, FIRESTORE_DATABASE=f"test-{uid}", PUBLISH_TIMEOUT_SECONDS=str(PUBLISH_TIMEOUT))
    names = ("register", "capture", "capture_batch", "unlike", "health", "retry_queue")
    servers = {name: FunctionServer(name, env) for name in names}
    with running(servers.values()):
        yield servers


def _user(stack: dict[str, FunctionServer]) -> dict[str, Any]:
    body = {"email": new_email(), "password": STRONG_PASSWORD}
    response = requests.post(stack["register"].url, json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def _firestore(own: Emulators, database: str) -> Any:
    from google.cloud import firestore

    os.environ[own.firestore.env_var] = own.firestore.host
    return firestore.Client(project=PROJECT, database=database)


def _tick(server: FunctionServer) -> requests.Response:
    """Deliver one Cloud Scheduler tick the way Eventarc does."""
    headers, body = scheduler_tick(PROJECT)
    return requests.post(server.url, data=body, headers=headers, timeout=60)


def test_pubsub_down_queues_then_the_replay_publishes(
    own: Emulators, stack: dict[str, FunctionServer], uid: str
) -> None:
    """Pub/Sub stopped: `queued` within the publish timeout; back up, one tick delivers and settles it."""
    from google.cloud import pubsub_v1

    user = _user(stack)
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    healthy = _healthy_publish_seconds(stack, "capture", tweet_body(), headers)
    own.pubsub.stop()
    body = tweet_body()
    started = time.perf_counter()
    response = requests.post(stack["capture"].url, json=body, headers=headers, timeout=30)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.json()["status"] == "queued", response.text
    # One bounded attempt, not the library's minutes of retries (a loose bound: the machine is noisy; a stopped
    # emulator refuses at once, so a deadline that starts over is caught by tests/unit/test_deadline.py instead).
    assert elapsed < healthy + 2 * PUBLISH_TIMEOUT, f"queued after {elapsed:.2f}s (healthy: {healthy:.2f}s)"
    print(f"time to queued with Pub/Sub stopped: {elapsed:.2f}s (healthy capture {healthy:.2f}s)")

    key = f"{user['userId']}_{body['tweetId']}"
    db = _firestore(own, f"test-{uid}")
    tweet = db.collection("tweets").document(key).get().to_dict()
    item = db.collection("queue").document(key).get().to_dict()
    assert tweet["pubsubMessageId"] is None and item["status"] == "pending" and item["errorMessage"]

    own.pubsub.start()  # a restarted emulator is empty: topic and subscription anew
    create_topic(PROJECT, TOPIC, subscriptions=(f"back-{uid}",))
    assert _tick(stack["retry_queue"]).status_code == 200

    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(PROJECT, f"back-{uid}")
    deadline, received = time.monotonic() + 20, []
    while not received and time.monotonic() < deadline:
        pulled = subscriber.pull(
            request={"subscription": path, "max_messages": 10, "return_immediately": True}, timeout=5
        )
        received = [m.message for m in pulled.received_messages]
        time.sleep(0.1)
    assert [m.attributes["dedupKey"] for m in received] == [key]
    assert json.loads(received[0].data)["data"]["tweetId"] == body["tweetId"]
    tweet = db.collection("tweets").document(key).get().to_dict()
    assert tweet["pubsubMessageId"] == received[0].message_id
    assert not db.collection("queue").document(key).get().exists

    # The capture process recovers too, without a restart: within a few captures (on a loaded machine the
    # first publish to the restarted emulator has been seen to miss its 3 s), captures publish again.
    queued = []
    for _ in range(3):
        again = requests.post(stack["capture"].url, json=tweet_body(), headers=headers, timeout=30).json()
        if again["status"] == "published":
            break
        item = db.collection("queue").document(f"{user['userId']}_{again['tweetId']}").get().to_dict()
        queued.append((item or {}).get("errorMessage"))
        time.sleep(1)
    else:
        pytest.fail(f"no capture published after Pub/Sub came back; the queued ones' errors: {queued}")
    if queued:
        print(f"captures queued after Pub/Sub came back before one published: {queued}")


def test_pubsub_down_queues_a_whole_batch_within_one_timeout(
    own: Emulators, stack: dict[str, FunctionServer], uid: str
) -> None:
    """A batch of 100 with Pub/Sub stopped: all `queued` within one publish timeout; one tick publishes them all."""
    user = _user(stack)
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    tweets = [tweet_body() for _ in range(100)]
    healthy = _healthy_publish_seconds(stack, "capture_batch", {"tweets": [tweet_body() for _ in range(100)]}, headers)
    own.pubsub.stop()
    started = time.perf_counter()
    response = requests.post(stack["capture_batch"].url, json={"tweets": tweets}, headers=headers, timeout=60)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["queued"] == 100
    # One timeout for the whole batch: a timeout per item would be 100 of them.
    assert elapsed < healthy + 2 * PUBLISH_TIMEOUT, f"batch queued after {elapsed:.2f}s (healthy: {healthy:.2f}s)"
    print(f"time to queue a batch of 100 with Pub/Sub stopped: {elapsed:.2f}s (healthy batch {healthy:.2f}s)")

    own.pubsub.start()
    create_topic(PROJECT, TOPIC, subscriptions=(f"batch-back-{uid}",))
    assert _tick(stack["retry_queue"]).status_code == 200
    received = pull(f"projects/{PROJECT}/subscriptions/batch-back-{uid}", expect=100, timeout=30)
    expected = sorted(f"{user['userId']}_{t['tweetId']}" for t in tweets)
    assert sorted(m.attributes["dedupKey"] for m in received) == expected
    db = _firestore(own, f"test-{uid}")
    assert not list(db.collection("queue").limit(1).get())


def test_pubsub_down_queues_an_unlike_and_the_replay_publishes_it_once(
    own: Emulators, stack: dict[str, FunctionServer], uid: str
) -> None:
    """Pub/Sub stopped during an unlike: 200 unliked, the event waits in the queue, one tick publishes it once."""
    user = _user(stack)
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    body = tweet_body()
    assert requests.post(stack["capture"].url, json=body, headers=headers, timeout=30).json()["status"] == "published"
    own.pubsub.stop()
    response = requests.post(stack["unlike"].url, json={"tweetId": body["tweetId"]}, headers=headers, timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "unliked", response.text
    key = f"{user['userId']}_{body['tweetId']}"
    db = _firestore(own, f"test-{uid}")
    item = db.collection("queue").document(f"{key}~1").get().to_dict()
    assert item["event"] == "unliked" and item["status"] == "pending" and item["errorMessage"]

    own.pubsub.start()
    create_topic(PROJECT, TOPIC, subscriptions=(f"unlike-back-{uid}",))
    assert _tick(stack["retry_queue"]).status_code == 200
    assert _tick(stack["retry_queue"]).status_code == 200  # a second tick finds nothing left to send
    received = pull(f"projects/{PROJECT}/subscriptions/unlike-back-{uid}", expect=1, timeout=15, settle=2.0)
    assert [(m.attributes["event"], m.attributes["sequence"], m.attributes["dedupKey"]) for m in received] == [
        ("unliked", "1", key)
    ]
    assert not db.collection("queue").document(f"{key}~1").get().exists


def test_firestore_down_is_503_never_200(own: Emulators, stack: dict[str, FunctionServer]) -> None:
    """Firestore stopped: capture answers 503 with Retry-After; once it is back, captures work again."""
    user = _user(stack)
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    own.firestore.stop()
    try:
        response = requests.post(stack["capture"].url, json=tweet_body(), headers=headers, timeout=60)
        assert response.status_code == 503, response.text
        assert int(response.headers["Retry-After"]) > 0
        assert response.headers["Content-Type"] == "application/problem+json"
    finally:
        _firestore_back(own)
    recovered = requests.post(stack["capture"].url, json=tweet_body(), headers=headers, timeout=60)
    assert recovered.status_code == 200 and recovered.json()["status"] == "published", recovered.text


def test_firestore_down_fails_a_batch_whole(own: Emulators, stack: dict[str, FunctionServer]) -> None:
    """Firestore stopped: a batch is one 503 with Retry-After and no per-item statuses; back up, it captures."""
    user = _user(stack)
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    body = {"tweets": [tweet_body() for _ in range(10)]}
    own.firestore.stop()
    try:
        response = requests.post(stack["capture_batch"].url, json=body, headers=headers, timeout=60)
        assert response.status_code == 503, response.text
        assert int(response.headers["Retry-After"]) > 0
        assert "results" not in response.json()
    finally:
        _firestore_back(own)
    recovered = requests.post(stack["capture_batch"].url, json=body, headers=headers, timeout=60)
    assert recovered.status_code == 200 and recovered.json()["summary"]["published"] == 10, recovered.text


@pytest.mark.parametrize("down", ["firestore", "pubsub"])
def test_health_reports_each_backend(own: Emulators, stack: dict[str, FunctionServer], down: str) -> None:
    """Healthy with both up; once the cached answer is stale, 503 naming the stopped backend, answered in time."""
    # Both up first. A fresh process's first check also opens its channels, which on a loaded
    # machine can take longer than the check's 1.5 s deadline: give it a few tries.
    for _ in range(10):
        healthy = requests.get(stack["health"].url, timeout=10)
        if healthy.status_code == 200:
            break
        time.sleep(1)
    assert healthy.status_code == 200, healthy.text
    assert healthy.json()["services"] == {"firestore": "connected", "pubsub": "connected"}
    emulator = own.firestore if down == "firestore" else own.pubsub
    emulator.stop()
    time.sleep(CACHE_SECONDS)  # the instance answers from its cached check until then
    try:
        started = time.perf_counter()
        response = requests.get(stack["health"].url, timeout=10)
        elapsed = time.perf_counter() - started
    finally:
        emulator.start()
        if down == "pubsub":
            create_topic(PROJECT, TOPIC)
    body = response.json()
    assert response.status_code == 503 and body["status"] == "unhealthy"
    assert body["services"][down] == "disconnected"
    assert body["services"]["firestore" if down == "pubsub" else "pubsub"] == "connected"
    assert body["version"] == "1.0.0"
    assert elapsed < 2 * CHECK_DEADLINE_SECONDS + 1, f"health took {elapsed:.2f}s"
