"""POST /api/auth/logout — revoke the session of a refresh token (or, with `everywhere`, all of its user's)."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients
from shared.accounts import auth
from shared.accounts.schemas import LogoutRequest
from shared.web.edge import empty_response, endpoint, load, read_json

_schema = LogoutRequest()


@functions_framework.http
@endpoint("logout")
def logout(request: flask.Request) -> flask.Response:
    """204 always once the body is valid: logging out twice, or with a dead token, is fine."""
    body = load(_schema, read_json(request))
    auth.logout(clients.firestore_client(), body["refreshToken"], datetime.now(UTC), everywhere=body["everywhere"])
    return empty_response(204)
