"""firestore.rules on the real Firestore emulator started with --rules: clients are denied, the functions are not.

Rules apply to requests made with end-user credentials (client SDKs, the REST API
without the emulator's owner token); the server library the functions use acts
as its IAM identity, which the emulator stands for with `Bearer owner`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.emulators import Emulator
from shared import clients
from tests.support import PROJECT, ROOT, Emulators, function_client, register, tweet_body

# Every collection the service writes, and one it never does.
COLLECTIONS = ("users", "emails", "sessions", "tweets", "queue", "rateLimits", "health", "anything")


@pytest.fixture(scope="module", name="ruled_firestore")
def _ruled_firestore() -> Iterator[Emulator]:
    """A Firestore emulator of its own, enforcing the repository's firestore.rules."""
    emulator = Emulator("firestore", PROJECT, rules=ROOT / "firestore.rules").start()
    yield emulator
    emulator.stop()


def rest(emulator: Emulator, method: str, path: str, body: Any = None, owner: bool = False) -> int:
    """The HTTP status of a Firestore REST call, as a client (or, with owner, as the admin credential)."""
    url = f"http://{emulator.host}/v1/projects/{PROJECT}/databases/(default)/documents{path}"
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if owner:
        request.add_header("Authorization", "Bearer owner")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback emulator
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_a_client_can_neither_read_nor_write_any_collection(ruled_firestore: Emulator, collection: str) -> None:
    """Without the owner credential, reading, listing, creating and deleting documents are all 403."""
    document = {"fields": {"x": {"stringValue": "y"}}}
    assert rest(ruled_firestore, "GET", f"/{collection}/some-id") == 403
    assert rest(ruled_firestore, "GET", f"/{collection}") == 403
    assert rest(ruled_firestore, "POST", f"/{collection}?documentId=new-id", document) == 403
    assert rest(ruled_firestore, "PATCH", f"/{collection}/some-id", document) == 403
    assert rest(ruled_firestore, "DELETE", f"/{collection}/some-id") == 403


def test_the_denial_comes_from_the_rules(ruled_firestore: Emulator) -> None:
    """The same calls with the owner (admin) credential succeed: the emulator works, the rules deny."""
    document = {"fields": {"x": {"stringValue": "y"}}}
    assert rest(ruled_firestore, "POST", "/anything?documentId=made-by-owner", document, owner=True) == 200
    assert rest(ruled_firestore, "GET", "/anything/made-by-owner", owner=True) == 200
    assert rest(ruled_firestore, "GET", "/anything/made-by-owner") == 403


def test_the_functions_keep_working_under_the_rules(
    ruled_firestore: Emulator, emulators: Emulators, setenv: Any, uid: str
) -> None:
    """Register, capture and health run as usual against the ruled emulator; a client cannot read what they wrote."""
    setenv(
        **{ruled_firestore.env_var: ruled_firestore.host, emulators.pubsub.env_var: emulators.pubsub.host},
        FIRESTORE_DATABASE="(default)",
    )
    clients.reset()
    try:
        grant = register()
        body = tweet_body()
        response = function_client("capture").post(
            "/", json=body, headers={"Authorization": f"Bearer {grant['accessToken']}"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["status"] in {"published", "queued"}
        health = function_client("health").get("/")
        assert health.status_code == 200
        assert health.get_json()["services"]["firestore"] == "connected"
        stored = f"/tweets/{grant['userId']}_{body['tweetId']}"
        assert rest(ruled_firestore, "GET", stored, owner=True) == 200
        assert rest(ruled_firestore, "GET", stored) == 403
    finally:
        clients.reset()
