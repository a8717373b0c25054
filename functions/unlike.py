"""POST /api/tweets/unlike — the user took a like back: keep the capture, publish an `unliked` event."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.config import get_settings
from shared.tweets import likes
from shared.tweets.publish import PubSubPublisher
from shared.tweets.schemas import UnlikeRequest
from shared.web.edge import authenticated_user, endpoint, json_response, load, read_json

_schema = UnlikeRequest()


@functions_framework.http
@endpoint("unlike")
def unlike(request: flask.Request) -> flask.Response:
    """200 unliked or already_unliked; 404 for a tweet never captured; 401, 400, 503 as everywhere."""
    user_id = authenticated_user(request)
    tweet_id = load(_schema, read_json(request))["tweetId"]
    publisher = PubSubPublisher.for_settings(clients.PUBLISHER, get_settings())
    status = likes.unlike(clients.firestore_client(), publisher, user_id, tweet_id, datetime.now(UTC))
    return json_response({"status": status, "tweetId": tweet_id})
