"""The only place that builds Firestore and Pub/Sub clients: lazily, once per instance.

Entry points hand `FIRESTORE` / `PUBLISHER` (or a client taken from them) to the
shared code, which never reaches for a module global itself. The client
libraries are imported on first use, so a function that never publishes never
pays for importing Pub/Sub; both read FIRESTORE_EMULATOR_HOST /
PUBSUB_EMULATOR_HOST when a client is built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from shared.config import get_settings

if TYPE_CHECKING:
    from google.cloud.firestore import Client as FirestoreClient
    from google.cloud.pubsub_v1 import PublisherClient

T = TypeVar("T")


class LazyClient(Generic[T]):
    """One client per instance, built on first `get()`; `discard()` after a failure makes the next get reconnect.

    A gRPC channel that saw its server go away sits in reconnect back-off for up
    to minutes; a new client connects at once. A discarded client is not closed:
    requests still holding it finish their (bounded) calls on it first.
    """

    def __init__(self, build: Callable[[], T], close: Callable[[T], None] | None = None) -> None:
        self._build = build
        self._close = close
        self._lock = threading.Lock()
        self._client: T | None = None

    def get(self) -> T:
        """The instance's client, built on first use."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
                client = self._client
        return client

    def discard(self, stale: T | None = None) -> None:
        """Forget the client (only if it still is `stale`, when given), so the next `get()` builds a new one."""
        with self._lock:
            if self._client is not None and (stale is None or self._client is stale):
                self._client = None

    def reset(self) -> None:
        """Close and forget the client (tests and local tools switch backends with this)."""
        with self._lock:
            old, self._client = self._client, None
        if old is not None and self._close is not None:
            self._close(old)


def _build_firestore() -> FirestoreClient:
    from google.cloud import firestore

    settings = get_settings()
    return firestore.Client(project=settings.project_id or None, database=settings.firestore_database)


def _build_publisher() -> PublisherClient:
    from google.cloud import pubsub_v1

    # Its batching thread is never used: `shared.tweets.publish` sends each request's messages
    # itself, in one Publish request (see `PubSubPublisher.publish_all`).
    return pubsub_v1.PublisherClient()


FIRESTORE: LazyClient[FirestoreClient] = LazyClient(_build_firestore, close=lambda client: client.close())
PUBLISHER: LazyClient[PublisherClient] = LazyClient(_build_publisher)


def firestore_client() -> FirestoreClient:
    """The instance's Firestore client (Native mode)."""
    return FIRESTORE.get()


def reset() -> None:
    """Close and forget both clients."""
    FIRESTORE.reset()
    PUBLISHER.reset()
