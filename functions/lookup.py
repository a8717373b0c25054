"""POST /api/tweets/lookup — which of these tweets the user has captured, and how they stand."""

import flask
import functions_framework

from shared import clients
from shared.tweets import likes
from shared.tweets.schemas import LookupRequest
from shared.web.edge import authenticated_user, endpoint, json_response, load, read_json

_schema = LookupRequest()


@functions_framework.http
@endpoint("lookup")
def lookup(request: flask.Request) -> flask.Response:
    """200 with each distinct id's status (published, queued, failed, unliked or absent); 400 bad ids."""
    user_id = authenticated_user(request)
    tweet_ids = load(_schema, read_json(request))["tweetIds"]
    return json_response({"tweets": likes.lookup(clients.firestore_client(), user_id, tweet_ids)})
