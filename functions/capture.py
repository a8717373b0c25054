"""POST /api/tweets/capture — store a liked tweet once and publish it."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.config import get_settings
from shared.tweets.budget import reserve, single_captures
from shared.tweets.capture import capture_tweet
from shared.tweets.publish import PubSubPublisher
from shared.tweets.schemas import TweetCapture
from shared.web.edge import authenticated_user, endpoint, json_response, load, read_json

_schema = TweetCapture()


@functions_framework.http
@endpoint("capture")
def capture(request: flask.Request) -> flask.Response:
    """200 published/queued/duplicate; 401 bad token, 400 bad tweet, 429 over the limit, 503 no database."""
    settings = get_settings()
    user_id = authenticated_user(request)
    tweet = load(_schema, read_json(request))
    now = datetime.now(UTC)
    db = clients.firestore_client()
    reserve(db, user_id, {single_captures(settings): 1}, now)
    publisher = PubSubPublisher.for_settings(clients.PUBLISHER, settings)
    return json_response(capture_tweet(db, publisher, user_id, tweet, now).to_json())
