"""Helpers for tests that talk to the emulators and the real functions."""

from __future__ import annotations

import json
import time
from typing import Any

import functions_framework
from flask.testing import FlaskClient

from devtools.samples import new_email, tweet_body, tweet_id
from tests.conftest import PROJECT, ROOT, TOPIC

__all__ = [
    "STRONG_PASSWORD",
    "decode",
    "function_client",
    "new_email",
    "pull",
    "register",
    "subscribe",
    "tweet_body",
    "tweet_id",
]

STRONG_PASSWORD = "Correct-Horse-9"


def function_client(target: str) -> FlaskClient:
    """A test client for an entry point of main.py, built the way functions-framework serves it."""
    return functions_framework.create_app(target, str(ROOT / "main.py")).test_client()


def register(client: FlaskClient | None = None, email: str | None = None) -> dict[str, Any]:
    """Register a fresh account through the register function; its JSON response."""
    client = client or function_client("register")
    response = client.post("/", json={"email": email or new_email(), "password": STRONG_PASSWORD})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def subscribe(name: str) -> str:
    """Create a pull subscription on the topic; its path."""
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(PROJECT, name)
    with subscriber:
        subscriber.create_subscription(name=path, topic=f"projects/{PROJECT}/topics/{TOPIC}")
    return path


def pull(subscription: str, expect: int, timeout: float = 10.0, settle: float = 1.0) -> list[Any]:
    """Pull and ack messages until `expect` arrived and `settle` more seconds brought no more."""
    from google.cloud import pubsub_v1

    received: list[Any] = []
    subscriber = pubsub_v1.SubscriberClient()
    deadline = time.monotonic() + timeout
    quiet_until = None
    with subscriber:
        while time.monotonic() < deadline:
            response = subscriber.pull(
                # The emulator still honours return_immediately: poll instead of long-polling.
                request={"subscription": subscription, "max_messages": 100, "return_immediately": True},
                timeout=5,
                retry=None,
            )
            if response.received_messages:
                received.extend(m.message for m in response.received_messages)
                subscriber.acknowledge(
                    request={"subscription": subscription, "ack_ids": [m.ack_id for m in response.received_messages]}
                )
                quiet_until = None
            elif len(received) >= expect:
                quiet_until = quiet_until or time.monotonic() + settle
                if time.monotonic() >= quiet_until:
                    break
            time.sleep(0.05)
    return received


def decode(message: Any) -> dict[str, Any]:
    """The JSON body of a Pub/Sub message."""
    return json.loads(message.data.decode("utf-8"))
