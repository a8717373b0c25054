"""POST /api/auth/refresh — a new access token for a live refresh token."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.accounts import auth, throttle
from shared.accounts.schemas import RefreshRequest
from shared.config import get_settings
from shared.web.edge import client_address, endpoint, json_response, load, read_json

_schema = RefreshRequest()


@functions_framework.http
@endpoint("refresh")
def refresh(request: flask.Request) -> flask.Response:
    """200 with a new access token (and a new refresh token when rotation is on); 401 otherwise; 429 too many."""
    settings = get_settings()
    address = client_address(request)
    throttle.admit(address, settings.auth_rate_limit_per_minute)
    body = load(_schema, read_json(request))
    grant = auth.refresh(clients.firestore_client(), body["refreshToken"], settings, datetime.now(UTC), address)
    return json_response(grant.to_json())
