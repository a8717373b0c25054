"""POST /api/auth/register — create an account and its first session."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.accounts import auth
from shared.accounts.schemas import Registration
from shared.config import get_settings
from shared.web.edge import endpoint, json_response, load, read_json

_schema = Registration()


@functions_framework.http
@endpoint("register")
def register(request: flask.Request) -> flask.Response:
    """201 with tokens for a new account; 400 invalid, 403 not allowed, 409 taken."""
    body = load(_schema, read_json(request))
    grant = auth.register(
        clients.firestore_client(), body["email"], body["password"], get_settings(), datetime.now(UTC)
    )
    return json_response(grant.to_json(), 201)
