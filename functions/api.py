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

DOCS_ASSETS = "/api/docs/"  # the docs page's scripts, styles and icon (shared.docs)


@endpoint("GET")
def _openapi(request: flask.Request) -> flask.Response:
    from shared import openapi

    return json_response(openapi.spec())


@endpoint("GET")
def _docs(request: flask.Request) -> flask.Response:
    from shared import docs

    return flask.Response(
        docs.page(), mimetype="text/html", headers={"Content-Security-Policy": docs.CONTENT_SECURITY_POLICY}
    )


@endpoint("GET")
def _docs_asset(request: flask.Request) -> flask.Response:
    from shared import docs

    found = docs.asset(request.path.removeprefix(DOCS_ASSETS))
    if found is None:
        raise errors.NotFound(f"No endpoint at {request.path}; see /api/docs.")
    body, content_type = found
    # The pinned package fixes the files' content, so a browser may keep them for a day.
    return flask.Response(body, content_type=content_type, headers={"Cache-Control": "public, max-age=86400"})


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
    if request.path.startswith(DOCS_ASSETS):
        return _docs_asset(request)
    return _not_found(request)
