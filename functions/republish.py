"""POST /api/tweets/republish — send captures' current state to the topic again (`replay: "true"`)."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.config import get_settings
from shared.logs import log
from shared.tweets.publish import PubSubPublisher
from shared.tweets.republish import republish_request
from shared.tweets.schemas import RepublishRequest
from shared.web.edge import authenticated_user, client_address, endpoint, json_response, load, read_json

_schema = RepublishRequest()


@functions_framework.http
@endpoint("republish")
def republish(request: flask.Request) -> flask.Response:
    """200 with republished, queued, absent and nextCursor; 400 bad ids, since or cursor; 429 over the budget."""
    settings = get_settings()
    user_id = authenticated_user(request)
    body = load(_schema, read_json(request))
    publisher = PubSubPublisher.for_settings(clients.PUBLISHER, settings)
    answer = republish_request(clients.firestore_client(), publisher, user_id, body, settings, datetime.now(UTC))
    count = answer["republished"] + answer["queued"]
    log("INFO", "republish", event="republish", userId=user_id, clientAddress=client_address(request), count=count)
    return json_response(answer)
