"""Health of the two backends, checked concurrently with short deadlines, and kept a few seconds.

Health answers anyone, so each instance answers from its last check for
`CACHE_SECONDS`: a flood of health requests costs one Firestore read per instance
every few seconds, not one a request.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import __version__

if TYPE_CHECKING:
    from shared.clients import LazyClient

CHECK_DEADLINE_SECONDS = 1.5
CACHE_SECONDS = 5.0
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")
_cache_lock = threading.Lock()
_cached: tuple[float, str, tuple[bool, dict[str, Any]]] | None = None


def _firestore_check(firestore: LazyClient[Any]) -> Callable[[], None]:
    def check() -> None:
        firestore.get().collection("health").document("ping").get(retry=None, timeout=CHECK_DEADLINE_SECONDS)

    return check


def _pubsub_check(publisher: LazyClient[Any], topic_path: str) -> Callable[[], None]:
    def check() -> None:
        publisher.get().get_topic(request={"topic": topic_path}, retry=None, timeout=CHECK_DEADLINE_SECONDS)

    return check


def cached_health(
    firestore: LazyClient[Any], publisher: LazyClient[Any], topic_path: str
) -> tuple[bool, dict[str, Any]]:
    """`check_health`'s answer, checked at most once every CACHE_SECONDS per instance and topic."""
    global _cached
    with _cache_lock:  # one check at a time: a burst of requests waits for it instead of adding its own
        now = time.monotonic()
        if _cached is None or _cached[1] != topic_path or now - _cached[0] >= CACHE_SECONDS:
            _cached = (now, topic_path, check_health(firestore, publisher, topic_path))
        return _cached[2]


def check_health(
    firestore: LazyClient[Any], publisher: LazyClient[Any], topic_path: str
) -> tuple[bool, dict[str, Any]]:
    """(healthy, body): each backend "connected" or "disconnected", within about 2 s.

    A backend that failed its check has its client discarded, so the next request reconnects.
    """
    checks = {
        "firestore": (firestore, _firestore_check(firestore)),
        "pubsub": (publisher, _pubsub_check(publisher, topic_path)),
    }
    futures = {name: _pool.submit(check) for name, (_, check) in checks.items()}
    done, _ = concurrent.futures.wait(futures.values(), timeout=CHECK_DEADLINE_SECONDS + 0.4)
    services = {}
    for name, future in futures.items():
        ok = future in done and future.exception() is None
        services[name] = "connected" if ok else "disconnected"
        if not ok:
            checks[name][0].discard()
    healthy = all(state == "connected" for state in services.values())
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "services": services,
        "version": __version__,
    }
    return healthy, body
