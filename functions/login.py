"""POST /api/auth/login — exchange e-mail and password for tokens."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients, errors
from shared.accounts import auth, throttle
from shared.accounts.schemas import Credentials
from shared.config import get_settings
from shared.logs import log
from shared.web.edge import client_address, endpoint, json_response, load, read_json

_schema = Credentials()


@functions_framework.http
@endpoint("login")
def login(request: flask.Request) -> flask.Response:
    """200 with tokens; 401 for any wrong credentials, 403 disabled, 429 too many failures."""
    settings = get_settings()
    address = client_address(request)
    try:
        throttle.admit(address, settings.auth_rate_limit_per_minute)
    except errors.TooManyRequests:
        # Refused before the body is read: the line names the address, not the e-mail.
        log("WARNING", "login limited", event="login.limited", clientAddress=address)
        raise
    body = load(_schema, read_json(request))
    grant = auth.login(
        clients.firestore_client(), body["email"], body["password"], address, settings, datetime.now(UTC)
    )
    return json_response(grant.to_json())
