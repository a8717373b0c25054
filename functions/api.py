"""One function serving every endpoint under its /api path (local dev, single-URL deploys).

The routing table is derived from `shared.web.endpoints`: each declared HTTP endpoint
with a path is served by its own entry point, exactly as when deployed alone.
"""

import importlib

import flask
import functions_framework

from shared import errors
from shared.web.edge import Handler, edge, endpoint, json_response
from shared.web.endpoints import ENDPOINTS

ROUTES: dict[str, Handler] = {
    e.path: getattr(importlib.import_module(e.module), e.entry_point)
    for e in ENDPOINTS
    if e.path and e.module and e.kind == "http"
}
DOCS_PATH = "/api/docs"

DOCS_ASSETS = "/api/docs/"  # the docs page's scripts, styles and icon (shared.web.docs)


@endpoint("/api/openapi.json")
def _openapi(request: flask.Request) -> flask.Response:
    from shared.web import openapi

    return json_response(openapi.spec())


@endpoint(DOCS_PATH)
def _docs(request: flask.Request) -> flask.Response:
    from shared.web import docs

    return flask.Response(
        docs.page(), mimetype="text/html", headers={"Content-Security-Policy": docs.CONTENT_SECURITY_POLICY}
    )


@edge("GET")
def _docs_asset(request: flask.Request) -> flask.Response:
    from shared.web import docs

    found = docs.asset(request.path.removeprefix(DOCS_ASSETS))
    if found is None:
        raise errors.NotFound(f"No endpoint at {request.path}; see /api/docs.")
    body, content_type = found
    # The pinned package fixes the files' content, so a browser may keep them for a day.
    return flask.Response(body, content_type=content_type, headers={"Cache-Control": "public, max-age=86400"})


@edge("GET")
def _problem_type(request: flask.Request) -> flask.Response:
    """The explanation of one problem type (`/problems/<kind>`), or of them all (`/problems/`)."""
    kind = request.path.removeprefix(errors.PROBLEM_TYPES_PATH).strip("/")
    if kind and kind not in errors.PROBLEM_TYPES:
        raise errors.NotFound(f"No problem type {kind!r}; see {errors.PROBLEM_TYPES_PATH}.")
    kinds = [kind] if kind else list(errors.PROBLEM_TYPES)
    text = "\n\n".join(
        f"{errors.problem_type(k)} ({errors.PROBLEM_TYPES[k][0]})\n{errors.PROBLEM_TYPES[k][1]}" for k in kinds
    )
    return flask.Response(text + "\n", mimetype="text/plain", headers={"Cache-Control": "public, max-age=86400"})


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
    if request.path.startswith(DOCS_ASSETS):
        return _docs_asset(request)
    if path == errors.PROBLEM_TYPES_PATH.rstrip("/") or request.path.startswith(errors.PROBLEM_TYPES_PATH):
        return _problem_type(request)
    return _not_found(request)
