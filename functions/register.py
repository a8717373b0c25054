"""POST /api/auth/register — create an account and its first session."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.accounts import auth, throttle
from shared.accounts.schemas import Registration
from shared.config import get_settings
from shared.web.edge import client_address, endpoint, json_response, load, read_json

_schema = Registration()


@functions_framework.http
@endpoint("register")
def register(request: flask.Request) -> flask.Response:
    """201 with tokens for a new account; 400 invalid, 403 refused (closed deployment), 409 taken, 429 too many."""
    settings = get_settings()
    throttle.admit(client_address(request), settings.auth_rate_limit_per_minute)
    body = load(_schema, read_json(request))
    db = clients.firestore_client()
    grant = auth.register(db, body["email"], body["password"], settings, datetime.now(UTC), body["registrationCode"])
    return json_response(grant.to_json(), 201)
