"""The one HTTP edge helper: CORS, method check, JSON body, error mapping, access log.

Every HTTP entry point is a plain `handler(request) -> Response` wrapped by
`endpoint(...)`; handlers raise `shared.errors.ApiError` and never build error
bodies themselves.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import flask
import werkzeug.exceptions

from shared import clients, errors
from shared.config import ConfigError, get_settings
from shared.logs import bind_trace, get_logger, log, parse_trace, set_level, unbind_trace
from shared.web.cors import cors_headers, preflight_headers
from shared.web.endpoints import MAX_BODY_BYTES

if TYPE_CHECKING:
    from marshmallow import Schema

Handler = Callable[[flask.Request], flask.Response]


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> flask.Response:
    """A JSON response with the given status."""
    return flask.Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def problem_response(error: errors.ApiError) -> flask.Response:
    """The RFC 9457 problem-details response for an API error."""
    return flask.Response(
        json.dumps(error.to_problem()),
        status=error.status,
        headers=error.headers,
        mimetype="application/problem+json",
    )


def empty_response(status: int = 204, headers: Mapping[str, str] | None = None) -> flask.Response:
    """A response with no body."""
    return flask.Response(status=status, headers=headers)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def read_json(request: flask.Request, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The request body (at most `max_bytes`) as a JSON object, or the 4xx error that says why not."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise errors.PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise errors.UnsupportedMediaType("Send the body as JSON with Content-Type: application/json.")
    request.max_content_length = max_bytes
    try:
        raw = request.get_data(cache=True)
    except werkzeug.exceptions.RequestEntityTooLarge:
        raise errors.PayloadTooLarge(f"The body is larger than {max_bytes} bytes.") from None
    if not raw.strip():
        raise errors.BadRequest("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        if b"\\ud" in raw or b"\\uD" in raw:
            # "\ud800" escapes load as lone surrogates: no UTF-8 text (nor Firestore, nor bcrypt) takes them.
            json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise errors.BadRequest("The request body is not valid UTF-8 JSON.") from None
    if not isinstance(body, dict):
        raise errors.BadRequest("The request body must be a JSON object.")
    return body


def load(
    schema: Schema, body: Mapping[str, Any], invalid: type[errors.ValidationFailed] = errors.ValidationFailed
) -> dict[str, Any]:
    """Validate `body` with a marshmallow schema; 400 with per-field errors on failure (`invalid`)."""
    from marshmallow import ValidationError

    try:
        return schema.load(body)
    except ValidationError as exc:
        raise invalid(errors.field_errors(exc.normalized_messages())) from None
    except RecursionError:
        raise errors.BadRequest("The request body is nested too deeply.") from None


def load_query(schema: Schema, request: flask.Request) -> dict[str, Any]:
    """Validate the query string with a marshmallow schema; 400 naming each bad parameter on failure."""
    return load(schema, request.args.to_dict(), errors.InvalidQuery)


def client_address(request: flask.Request) -> str:
    """The caller's address as the platform's front end saw it (see shared.accounts.addresses)."""
    from shared.accounts.addresses import client_address as from_headers

    return from_headers(request.headers.get("X-Forwarded-For"), request.remote_addr, get_settings().trusted_proxy_hops)


def _backend_unavailable(exc: Exception) -> bool:
    """Whether `exc` means a Google backend (Firestore) could not be reached in time."""
    if not type(exc).__module__.startswith("google."):
        return False
    from google.api_core import exceptions as gexc

    unavailable = gexc.ServiceUnavailable | gexc.DeadlineExceeded | gexc.RetryError | gexc.InternalServerError
    return isinstance(exc, unavailable)


def _backend_busy(exc: Exception) -> bool:
    """Whether `exc` is Firestore refusing for now: contention (Aborted) or quota (ResourceExhausted)."""
    if not type(exc).__module__.startswith("google."):
        return False
    from google.api_core import exceptions as gexc

    return isinstance(exc, gexc.Aborted | gexc.ResourceExhausted)


def with_security_headers(response: flask.Response) -> flask.Response:
    """Add the headers every answer carries: nosniff, and no-store unless the handler chose a cache policy.

    Every answer of this API is per-request (tokens, a user's captures, live health), so
    nothing may be kept by a browser or a proxy (RFC 6749 5.1 for the token answers).
    """
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _dispatch(
    handler: Handler, request: flask.Request, methods: tuple[str, ...], origins: tuple[str, ...]
) -> flask.Response:
    if request.method == "OPTIONS":
        return empty_response(204, preflight_headers(request.headers.get("Origin"), origins, methods))
    if request.method not in methods and not (request.method == "HEAD" and "GET" in methods):
        raise errors.MethodNotAllowed(request.method, methods)
    return handler(request)


def endpoint(declared: str) -> Callable[[Handler], Handler]:
    """Decorate the handler of an endpoint declared in `shared.web.endpoints` (by entry point, or path for a page).

    Its methods come from the declaration; see `edge` for what the wrapper does.
    """
    from shared.web.endpoints import BY_ENTRY_POINT, BY_PATH

    return edge(*(BY_PATH[declared] if declared.startswith("/") else BY_ENTRY_POINT[declared]).methods)


def edge(*methods: str) -> Callable[[Handler], Handler]:
    """Decorate an HTTP handler with CORS, the method check, error mapping and an access log."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(request: flask.Request) -> flask.Response:
            started = time.perf_counter()
            try:
                settings = get_settings()
            except ConfigError as exc:
                log("CRITICAL", f"configuration error: {exc}")
                return with_security_headers(problem_response(errors.ApiError("The service is misconfigured.")))
            set_level(settings.log_level)
            token = bind_trace(
                parse_trace(
                    request.headers.get("X-Cloud-Trace-Context"),
                    request.headers.get("traceparent"),
                    settings.project_id,
                )
            )
            try:
                try:
                    response = _dispatch(handler, request, methods, settings.allowed_origins)
                except errors.ApiError as exc:
                    response = problem_response(exc)
                except Exception as exc:  # noqa: BLE001 - the one place unexpected errors become 5xx
                    if _backend_busy(exc):
                        log("ERROR", f"backend busy: {type(exc).__name__}: {exc}")
                        response = problem_response(
                            errors.ServiceUnavailable("The database is busy; try again shortly.", retry_after=2)
                        )
                    elif _backend_unavailable(exc):
                        log("ERROR", f"backend unavailable: {type(exc).__name__}: {exc}")
                        # A channel that lost its server reconnects only after a back-off of up to
                        # minutes; the next request builds a fresh client and connects at once.
                        clients.FIRESTORE.discard()
                        response = problem_response(
                            errors.ServiceUnavailable("The database is unreachable; try again shortly.")
                        )
                    else:
                        get_logger().error("unhandled error: %s", type(exc).__name__, exc_info=exc)
                        response = problem_response(errors.ApiError("An unexpected error occurred."))
                if request.method != "OPTIONS":  # a preflight answer has its own CORS headers
                    response.headers.update(cors_headers(request.headers.get("Origin"), settings.allowed_origins))
                with_security_headers(response)
                latency = time.perf_counter() - started
                log(
                    "WARNING" if response.status_code >= 500 else "INFO",
                    f"{request.method} {request.path} {response.status_code} {latency * 1000:.1f}ms",
                    httpRequest={
                        "requestMethod": request.method,
                        "requestUrl": request.path,
                        "status": response.status_code,
                        "latency": f"{latency:.6f}s",
                        "userAgent": request.headers.get("User-Agent", "")[:200],
                        "remoteIp": client_address(request),
                    },
                )
                return response
            finally:
                unbind_trace(token)

        return wrapper

    return decorate


def authenticated_user(request: flask.Request) -> str:
    """The user id of the request's access token; 401 with a challenge when it is missing or unusable."""
    from shared.accounts import tokens

    try:
        return tokens.verify_access_token(bearer_token(request), get_settings().require_jwt_secret())
    except tokens.TokenError as exc:
        raise errors.InvalidBearerToken(str(exc)) from None


def bearer_token(request: flask.Request) -> str:
    """The token of an `Authorization: Bearer …` header; 401 with a challenge otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if not header:
        raise errors.InvalidBearerToken("Send an access token: Authorization: Bearer <token>.", error=None)
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 4096:
        raise errors.InvalidBearerToken("The Authorization header must be 'Bearer <access token>'.")
    return token.strip()
