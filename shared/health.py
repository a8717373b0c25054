"""Health of the two backends, checked concurrently with short deadlines."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared import __version__, clients

CHECK_DEADLINE_SECONDS = 1.5
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")


def _firestore_ok() -> None:
    db = clients.firestore_client()
    db.collection("health").document("ping").get(retry=None, timeout=CHECK_DEADLINE_SECONDS)


def _pubsub_ok(topic_path: str) -> Callable[[], None]:
    def check() -> None:
        clients.publisher_client().get_topic(request={"topic": topic_path}, retry=None, timeout=CHECK_DEADLINE_SECONDS)

    return check


def check_health(project_id: str, topic: str) -> tuple[bool, dict[str, Any]]:
    """(healthy, body): each backend "connected" or "disconnected", within about 2 s."""
    checks = {"firestore": _firestore_ok, "pubsub": _pubsub_ok(f"projects/{project_id}/topics/{topic}")}
    futures = {name: _pool.submit(check) for name, check in checks.items()}
    done, _ = concurrent.futures.wait(futures.values(), timeout=CHECK_DEADLINE_SECONDS + 0.4)
    services = {}
    for name, future in futures.items():
        ok = future in done and future.exception() is None
        services[name] = "connected" if ok else "disconnected"
        if not ok:
            (clients.discard_firestore if name == "firestore" else clients.discard_publisher)()
    healthy = all(state == "connected" for state in services.values())
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "services": services,
        "version": __version__,
    }
    return healthy, body
