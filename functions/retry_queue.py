"""CloudEvent function: Cloud Scheduler's tick (via Pub/Sub) replays the retry queue."""

from datetime import UTC, datetime

import functions_framework
from cloudevents.http import CloudEvent

from shared import clients
from shared.config import get_settings
from shared.logs import log, set_level
from shared.tweets.publish import PubSubPublisher
from shared.tweets.replay import replay_queue


@functions_framework.cloud_event
def retry_queue(event: CloudEvent) -> None:
    """Replay due queue items; the tick's payload is ignored.

    Raises only when Firestore itself fails (a transient error worth a retry);
    publish failures are recorded on the items and end the run normally.
    """
    settings = get_settings()
    set_level(settings.log_level)
    publisher = PubSubPublisher.for_settings(clients.PUBLISHER, settings)
    report = replay_queue(clients.firestore_client(), publisher, settings.max_retry_attempts, datetime.now(UTC))
    log("INFO", "retry queue replayed", event_id=event["id"], **report.summary())
