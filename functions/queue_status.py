"""GET /api/queue — the caller's queue items not yet on the topic, and why, page by page."""

import flask
import functions_framework

from shared import clients, errors
from shared.config import get_settings
from shared.tweets.likes import BadCursor, Cursor
from shared.tweets.queue_items import queue_page
from shared.tweets.schemas import QueueQuery
from shared.web.edge import authenticated_user, endpoint, json_response, load

_schema = QueueQuery()


@functions_framework.http
@endpoint("queue_status")
def queue_status(request: flask.Request) -> flask.Response:
    """200 with a page of queue items and the next page's cursor (null at the end); 400 bad status, limit or cursor."""
    user_id = authenticated_user(request)
    query = load(_schema, request.args.to_dict())
    key = get_settings().require_jwt_secret()
    try:
        cursor = Cursor.decode(query["cursor"], user_id, key) if query["cursor"] else None
    except BadCursor:
        raise errors.ValidationFailed(
            {"cursor": ["Not a cursor this view gave you; start again without one."]}
        ) from None
    items, following = queue_page(clients.firestore_client(), user_id, query["status"], query["limit"], cursor)
    return json_response({"items": items, "nextCursor": following.encode(user_id, key) if following else None})
