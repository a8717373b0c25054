"""POST /api/tweets/lookup — which of these tweets the user has captured, and how they stand."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.config import get_settings
from shared.tweets import likes
from shared.tweets.budget import reads, reserve
from shared.tweets.schemas import LookupRequest
from shared.web.edge import authenticated_user, endpoint, json_response, load, read_json

_schema = LookupRequest()


@functions_framework.http
@endpoint("lookup")
def lookup(request: flask.Request) -> flask.Response:
    """200 with each distinct id's status (published, queued, failed, unliked or absent); 400 bad ids; 429."""
    settings = get_settings()
    user_id = authenticated_user(request)
    tweet_ids = list(dict.fromkeys(load(_schema, read_json(request))["tweetIds"]))
    db = clients.firestore_client()
    reserve(db, user_id, {reads(settings): len(tweet_ids)}, datetime.now(UTC))
    return json_response({"tweets": likes.lookup(db, user_id, tweet_ids)})
