"""GET /api/queue — the caller's queue items not yet on the topic, and why, page by page."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.config import get_settings
from shared.tweets.budget import read_page
from shared.tweets.likes import Cursor
from shared.tweets.queue_items import queue_page
from shared.tweets.schemas import QueueQuery
from shared.web.edge import authenticated_user, endpoint, json_response, load_query

_schema = QueueQuery()


@functions_framework.http
@endpoint("queue_status")
def queue_status(request: flask.Request) -> flask.Response:
    """200 with a page of queue items and the next page's cursor (null at the end); 400 bad query; 429."""
    settings = get_settings()
    user_id = authenticated_user(request)
    query = load_query(_schema, request)
    key = settings.require_jwt_secret()
    cursor = Cursor.decode(query["cursor"], user_id, key, Cursor.QUEUE)
    db = clients.firestore_client()
    items, following = read_page(
        db,
        user_id,
        settings,
        query["limit"],
        datetime.now(UTC),
        lambda: queue_page(db, user_id, query["status"], query["limit"], cursor),
    )
    return json_response(
        {"items": items, "nextCursor": following.encode(user_id, key, Cursor.QUEUE) if following else None}
    )
