"""The only place that builds Firestore and Pub/Sub clients: lazily, once per instance.

The client libraries are imported on first use, so a function that never
publishes never pays for importing Pub/Sub. Both libraries read
FIRESTORE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST when a client is built.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from shared.config import get_settings

if TYPE_CHECKING:
    from google.cloud.firestore import Client as FirestoreClient
    from google.cloud.pubsub_v1 import PublisherClient

_lock = threading.Lock()
_firestore: FirestoreClient | None = None
_publisher: PublisherClient | None = None


def firestore_client() -> FirestoreClient:
    """The instance's Firestore client (Native mode), built on first use."""
    global _firestore
    if _firestore is None:
        with _lock:
            if _firestore is None:
                from google.cloud import firestore

                settings = get_settings()
                _firestore = firestore.Client(project=settings.project_id or None, database=settings.firestore_database)
    return _firestore


def publisher_client() -> PublisherClient:
    """The instance's Pub/Sub publisher, built on first use, sending each message at once."""
    global _publisher
    if _publisher is None:
        with _lock:
            if _publisher is None:
                from google.cloud import pubsub_v1

                # One message per request: send it now instead of waiting up to
                # 10 ms for a batch to fill.
                _publisher = pubsub_v1.PublisherClient(
                    batch_settings=pubsub_v1.types.BatchSettings(max_messages=1, max_latency=0)
                )
    return _publisher


def discard_publisher(stale: PublisherClient | None = None) -> None:
    """Drop the publisher after a failed publish so the next one starts a fresh channel.

    A gRPC channel that saw the server go away sits in reconnect back-off for up
    to minutes; a new client connects at once.
    """
    global _publisher
    with _lock:
        if _publisher is not None and (stale is None or _publisher is stale):
            # Not stopped: requests still holding the old client finish their
            # (bounded) publishes on it; it is collected once they are done.
            _publisher = None


def discard_firestore(stale: FirestoreClient | None = None) -> None:
    """Drop the Firestore client after it found the service unreachable."""
    global _firestore
    with _lock:
        if _firestore is not None and (stale is None or _firestore is stale):
            _firestore = None


def reset() -> None:
    """Close and forget both clients (tests and local tools switch backends with this)."""
    global _firestore
    with _lock:
        old, _firestore = _firestore, None
    if old is not None:
        old.close()
    discard_publisher()


def install_firestore(client: FirestoreClient) -> None:
    """Use `client` as the instance's Firestore client (local tools count operations with this)."""
    global _firestore
    with _lock:
        _firestore = client
