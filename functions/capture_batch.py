"""POST /api/tweets/capture/batch — up to 100 captures in one request, one result per item."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.config import get_settings
from shared.tweets.batch import capture_batch as capture_items
from shared.tweets.budget import batch_captures
from shared.tweets.publish import PubSubPublisher
from shared.tweets.schemas import CaptureBatch
from shared.web.edge import authenticated_user, endpoint, json_response, load, read_json
from shared.web.endpoints import BY_ENTRY_POINT

_schema = CaptureBatch()
_MAX_BODY_BYTES = BY_ENTRY_POINT["capture_batch"].max_body


@functions_framework.http
@endpoint("capture_batch")
def capture_batch(request: flask.Request) -> flask.Response:
    """200 with per-item results (Retry-After when some are rate_limited); 400/401/413/503 for the whole batch."""
    settings = get_settings()
    user_id = authenticated_user(request)
    items = load(_schema, read_json(request, _MAX_BODY_BYTES))["tweets"]
    budget = batch_captures(settings)
    publisher = PubSubPublisher.for_settings(clients.PUBLISHER, settings)
    report = capture_items(clients.firestore_client(), publisher, user_id, items, budget, datetime.now(UTC))
    headers = {"Retry-After": str(report.retry_after)} if report.retry_after else None
    return json_response(report.to_json(), headers=headers)
