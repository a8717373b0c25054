"""POST /api/auth/logout — revoke the session of a refresh token (or, with `everywhere`, all of its user's)."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.accounts import auth, throttle
from shared.accounts.schemas import LogoutRequest
from shared.config import get_settings
from shared.web.edge import client_address, empty_response, endpoint, load, read_json

_schema = LogoutRequest()


@functions_framework.http
@endpoint("logout")
def logout(request: flask.Request) -> flask.Response:
    """204 always once the body is valid: logging out twice, or with a dead token, is fine; 429 too many."""
    settings = get_settings()
    address = client_address(request)
    throttle.admit(address, settings.auth_rate_limit_per_minute)
    body = load(_schema, read_json(request))
    db = clients.firestore_client()
    auth.logout(db, body["refreshToken"], settings, datetime.now(UTC), body["everywhere"], address)
    return empty_response(204)
