"""POST /api/tweets/capture — store a liked tweet once and publish it."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients, errors, ratelimit, tokens
from shared.capture import capture_tweet
from shared.config import get_settings
from shared.http import bearer_token, endpoint, json_response, load, read_json
from shared.publish import PubSubPublisher
from shared.schemas import TweetCapture

_schema = TweetCapture()


@functions_framework.http
@endpoint("capture")
def capture(request: flask.Request) -> flask.Response:
    """200 published/queued/duplicate; 401 bad token, 400 bad tweet, 429 over the limit, 503 no database."""
    settings = get_settings()
    try:
        user_id = tokens.verify_access_token(bearer_token(request), settings.require_jwt_secret())
    except tokens.TokenError as exc:
        raise errors.InvalidBearerToken(str(exc)) from None
    tweet = load(_schema, read_json(request))
    now = datetime.now(UTC)
    db = clients.firestore_client()
    ratelimit.enforce_capture_limit(db, user_id, settings.rate_limit_per_minute, now)
    publisher = PubSubPublisher.for_settings(clients.PUBLISHER, settings)
    return json_response(capture_tweet(db, publisher, user_id, tweet, now).to_json())
