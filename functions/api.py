"""One function serving every endpoint under the spec's paths (local dev, single-URL deploys)."""

import flask
import functions_framework

from functions.capture import capture
from functions.health import health
from functions.login import login
from functions.logout import logout
from functions.refresh import refresh
from functions.register import register
from shared import errors
from shared.http import endpoint, json_response

ROUTES = {
    "/api/auth/register": register,
    "/api/auth/login": login,
    "/api/auth/refresh": refresh,
    "/api/auth/logout": logout,
    "/api/tweets/capture": capture,
    "/api/health": health,
}


@endpoint("GET")
def _openapi(request: flask.Request) -> flask.Response:
    from shared import openapi

    return json_response(openapi.spec())


@endpoint("GET")
def _docs(request: flask.Request) -> flask.Response:
    from shared import openapi

    return flask.Response(openapi.DOCS_PAGE, mimetype="text/html")


@endpoint("GET", "POST", "PUT", "PATCH", "DELETE")
def _not_found(request: flask.Request) -> flask.Response:
    raise errors.NotFound(f"No endpoint at {request.path}; see /api/docs.")


@functions_framework.http
def api(request: flask.Request) -> flask.Response:
    """Route a request to the function that serves its path."""
    path = request.path.rstrip("/") or "/"
    if path in ROUTES:
        return ROUTES[path](request)
    if path == "/api/openapi.json":
        return _openapi(request)
    # Exactly /api/docs: the page loads "openapi.json" relative to its own URL.
    if request.path == "/api/docs":
        return _docs(request)
    return _not_found(request)
