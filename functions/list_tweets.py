"""GET /api/tweets — the user's captures, oldest first, page by page."""

import flask
import functions_framework

from shared import clients, errors
from shared.config import get_settings
from shared.tweets import likes
from shared.tweets.schemas import ListQuery
from shared.web.edge import authenticated_user, endpoint, json_response, load_query

_schema = ListQuery()


@functions_framework.http
@endpoint("list_tweets")
def list_tweets(request: flask.Request) -> flask.Response:
    """200 with a page of captures and the next page's cursor (null at the end); 400 bad limit or cursor."""
    user_id = authenticated_user(request)
    query = load_query(_schema, request)
    key = get_settings().require_jwt_secret()
    try:
        cursor = likes.Cursor.decode(query["cursor"], user_id, key) if query["cursor"] else None
    except likes.BadCursor:
        problem = {"cursor": ["Not a cursor this listing gave you; start again without one."]}
        raise errors.InvalidQuery(problem) from None
    items, following = likes.list_page(clients.firestore_client(), user_id, query["limit"], cursor)
    return json_response({"tweets": items, "nextCursor": following.encode(user_id, key) if following else None})
