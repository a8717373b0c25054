"""GET /api/health — whether Firestore and Pub/Sub are reachable."""

import flask
import functions_framework

from shared import clients
from shared.config import get_settings
from shared.health import cached_health
from shared.tweets.publish import topic_path
from shared.web.edge import endpoint, json_response


@functions_framework.http
@endpoint("health")
def health(request: flask.Request) -> flask.Response:
    """200 healthy or 503 unhealthy, with each backend's state and the version, as checked in the last 5 s."""
    settings = get_settings()
    topic = topic_path(settings.project_id, settings.pubsub_topic)
    healthy, body = cached_health(clients.FIRESTORE, clients.PUBLISHER, topic)
    return json_response(body, 200 if healthy else 503, None if healthy else {"Retry-After": "30"})
