"""POST /api/queue/retry — the caller's failed queue items (all, or those of the ids given) pending again."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.logs import log
from shared.tweets.queue_items import retry_failed
from shared.tweets.schemas import QueueRetryRequest
from shared.web.edge import authenticated_user, client_address, endpoint, json_response, load, read_json

_schema = QueueRetryRequest()


@functions_framework.http
@endpoint("queue_retry")
def queue_retry(request: flask.Request) -> flask.Response:
    """200 with how many failed items are pending again (the next replay run publishes them); 400 bad ids."""
    user_id = authenticated_user(request)
    tweet_ids = load(_schema, read_json(request)).get("tweetIds")
    retried = retry_failed(clients.firestore_client(), user_id, tweet_ids, datetime.now(UTC))
    log(
        "INFO", "queue retry", event="queue.retry", userId=user_id, clientAddress=client_address(request), count=retried
    )
    return json_response({"retried": retried})
