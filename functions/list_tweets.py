"""GET /api/tweets — the user's captures, oldest first, page by page."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.config import get_settings
from shared.tweets import likes
from shared.tweets.budget import read_page
from shared.tweets.schemas import ListQuery
from shared.web.edge import authenticated_user, endpoint, json_response, load_query

_schema = ListQuery()


@functions_framework.http
@endpoint("list_tweets")
def list_tweets(request: flask.Request) -> flask.Response:
    """200 with a page of captures and the next page's cursor (null at the end); 400 bad limit or cursor; 429."""
    settings = get_settings()
    user_id = authenticated_user(request)
    query = load_query(_schema, request)
    key = settings.require_jwt_secret()
    cursor = likes.Cursor.decode(query["cursor"], user_id, key, likes.Cursor.LISTING)
    db = clients.firestore_client()
    items, following = read_page(
        db,
        user_id,
        settings,
        query["limit"],
        datetime.now(UTC),
        lambda: likes.list_page(db, user_id, query["limit"], cursor),
    )
    return json_response(
        {"tweets": items, "nextCursor": following.encode(user_id, key, likes.Cursor.LISTING) if following else None}
    )
