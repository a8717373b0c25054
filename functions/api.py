"""One function serving every endpoint under its /api path (local dev, single-URL deploys).

The routing table is derived from `shared.endpoints`: each declared HTTP endpoint
with a path is served by its own entry point, exactly as when deployed alone.
"""

import importlib

import flask
import functions_framework

from shared import errors
from shared.endpoints import ENDPOINTS
from shared.http import Handler, edge, endpoint, json_response

ROUTES: dict[str, Handler] = {
    e.path: getattr(importlib.import_module(e.module), e.entry_point)
    for e in ENDPOINTS
    if e.path and e.module and e.kind == "http"
}
DOCS_PATH = "/api/docs"


@endpoint("/api/openapi.json")
def _openapi(request: flask.Request) -> flask.Response:
    from shared import openapi

    return json_response(openapi.spec())


@endpoint(DOCS_PATH)
def _docs(request: flask.Request) -> flask.Response:
    from shared import openapi

    return flask.Response(openapi.DOCS_PAGE, mimetype="text/html")


@edge("GET", "POST", "PUT", "PATCH", "DELETE")
def _not_found(request: flask.Request) -> flask.Response:
    raise errors.NotFound(f"No endpoint at {request.path}; see {DOCS_PATH}.")


ROUTES["/api/openapi.json"] = _openapi


@functions_framework.http
def api(request: flask.Request) -> flask.Response:
    """Route a request to the function that serves its path."""
    path = request.path.rstrip("/") or "/"
    if path in ROUTES:
        return ROUTES[path](request)
    # Exactly /api/docs: the page loads "openapi.json" relative to its own URL.
    if request.path == DOCS_PATH:
        return _docs(request)
    return _not_found(request)
