"""The OpenAPI 3 document of the `api` function, generated with apispec from the marshmallow schemas.

Paths, methods, request bodies, answers and security come from the declarations in
`shared.web.endpoints`; request schemas and every format they enforce from
the request schemas (patterns are the validators' own regexes, custom fields describe
themselves). What `shared.web.edge` answers on its own (400, 405, 413, 415, 500, 503,
the Bearer challenge) is derived from what each endpoint declares. Only
GET /api/openapi.json imports this module, so no other function loads apispec.
"""

from __future__ import annotations

import functools
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.field_converter import FieldConverterMixin
from marshmallow import Schema, fields, validate

from shared import __version__, errors
from shared.accounts import schemas as account_schemas
from shared.tweets import schemas as tweet_schemas
from shared.web.endpoints import ENDPOINTS, MAX_BODY_BYTES, Answer, Endpoint

OPENAPI_VERSION = "3.1.0"
# Every request schema an endpoint declares, by name.
_REQUEST_SCHEMAS = {
    name: value
    for module in (account_schemas, tweet_schemas)
    for name, value in vars(module).items()
    if isinstance(value, type) and issubclass(value, Schema)
}
BEARER = "bearerAuth"
PROBLEM = "application/problem+json"


class Problem(Schema):
    """RFC 9457 problem details: the body of every error response."""

    type = fields.String(
        required=True,
        validate=validate.OneOf([errors.problem_type(kind) for kind in errors.PROBLEM_TYPES]),
        metadata={
            "description": "The kind of problem, the same for the same condition on every endpoint; "
            "a GET of it on the `api` function explains it. "
            + "; ".join(f"`{errors.problem_type(k)}` ({status})" for k, (status, _) in errors.PROBLEM_TYPES.items())
            + ".",
            "example": errors.problem_type("invalid-input"),
        },
    )
    title = fields.String(required=True, metadata={"example": "Validation Failed"})
    status = fields.Integer(required=True, validate=validate.Range(min=400, max=599), metadata={"example": 400})
    detail = fields.String(required=True, metadata={"example": "The request body has invalid fields."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "Validation failures only: each invalid field with its messages.",
            "example": {"password": ["Must contain a digit."]},
        },
    )


class AuthGrant(Schema):
    """Tokens for a new or logged-in account (register 201, login 200)."""

    userId = fields.String(required=True)
    email = fields.String(required=True, metadata={"description": "The address as stored (normalised)."})
    accessToken = fields.String(required=True, metadata={"description": "JWT (HS256) for the Bearer header."})
    refreshToken = fields.String(required=True, metadata={"description": "Opaque; send it to refresh and logout."})
    expiresIn = fields.Integer(required=True, metadata={"description": "Seconds the access token lives."})
    tokenType = fields.String(required=True, validate=validate.OneOf(["Bearer"]))


class RefreshGrant(Schema):
    """A new access token; a new refresh token too when REFRESH_TOKEN_ROTATION is on."""

    accessToken = fields.String(required=True)
    refreshToken = fields.String(
        metadata={"description": "Only with rotation on: the refresh token to use from now on."}
    )
    expiresIn = fields.Integer(required=True)
    tokenType = fields.String(required=True, validate=validate.OneOf(["Bearer"]))


class CapturePublished(Schema):
    """The tweet is stored and was published to Pub/Sub."""

    status = fields.String(required=True, validate=validate.OneOf(["published"]))
    tweetId = fields.String(required=True)
    messageId = fields.String(required=True)


class CaptureQueued(Schema):
    """The tweet is stored; Pub/Sub was unreachable, so the retry queue will publish it."""

    status = fields.String(required=True, validate=validate.OneOf(["queued"]))
    tweetId = fields.String(required=True)
    message = fields.String(required=True)


class CaptureDuplicate(Schema):
    """The user had already captured this tweet; nothing was published again."""

    status = fields.String(required=True, validate=validate.OneOf(["duplicate"]))
    tweetId = fields.String(required=True)
    message = fields.String(required=True)


class BatchItemResult(Schema):
    """What became of one item of a batch capture."""

    index = fields.Integer(required=True, metadata={"description": "The item's position in the request."})
    tweetId = fields.String(required=True, allow_none=True, metadata={"description": "Null when unreadable."})
    status = fields.String(
        required=True, validate=validate.OneOf(["published", "queued", "duplicate", "invalid", "rate_limited"])
    )
    messageId = fields.String(metadata={"description": "Only for `published`."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Only for `invalid`: each invalid field with its messages, as a 400 would give."},
    )


class BatchSummary(Schema):
    """How many items ended in each status."""

    published = fields.Integer(required=True)
    queued = fields.Integer(required=True)
    duplicate = fields.Integer(required=True)
    invalid = fields.Integer(required=True)
    rate_limited = fields.Integer(required=True)


class BatchResult(Schema):
    """The answer to a batch capture; Retry-After is sent when any item is `rate_limited`."""

    results = fields.List(fields.Nested(BatchItemResult), required=True)
    summary = fields.Nested(BatchSummary, required=True)


_STATUSES = ["published", "queued", "failed", "unliked", "absent"]


class TweetStatus(Schema):
    """Where one looked-up tweet stands for this user."""

    status = fields.String(required=True, validate=validate.OneOf(_STATUSES))
    capturedAt = fields.DateTime(required=True, allow_none=True, metadata={"description": "Null when absent."})


class LookupResult(Schema):
    """Each distinct requested id, keyed by itself."""

    tweets = fields.Dict(keys=fields.String(), values=fields.Nested(TweetStatus), required=True)


class ListedTweet(Schema):
    """One capture in the listing."""

    tweetId = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(_STATUSES[:-1]))
    createdAt = fields.DateTime(required=True, metadata={"description": "Server time of the first capture (UTC)."})
    unlikedAt = fields.DateTime(required=True, allow_none=True)
    tweet = fields.Dict(required=True, metadata={"description": "The stored capture, as sent (TweetCapture)."})


class TweetPage(Schema):
    """A page of the listing."""

    tweets = fields.List(fields.Nested(ListedTweet), required=True)
    nextCursor = fields.String(required=True, allow_none=True, metadata={"description": "Null on the last page."})


class UnlikeResult(Schema):
    """The answer to an unlike."""

    status = fields.String(required=True, validate=validate.OneOf(["unliked", "already_unliked"]))
    tweetId = fields.String(required=True)


class RepublishResult(Schema):
    """The answer to a republish."""

    republished = fields.Integer(required=True, metadata={"description": "Published to the topic now."})
    queued = fields.Integer(required=True, metadata={"description": "Stored in the queue; the replay publishes them."})
    absent = fields.List(
        fields.String(), required=True, metadata={"description": "Requested ids this account never captured."}
    )
    nextCursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "With `since`: send it back for the next 500; null at the end."},
    )


class QueueItem(Schema):
    """One queue item: an event not yet on the topic."""

    tweetId = fields.String(required=True)
    event = fields.String(required=True, validate=validate.OneOf(["liked", "unliked"]))
    sequence = fields.Integer(required=True)
    replay = fields.Boolean(required=True, metadata={"description": "Sent again on the owner's request."})
    status = fields.String(required=True, validate=validate.OneOf(list(tweet_schemas.QUEUE_STATUSES)))
    attempts = fields.Integer(required=True, metadata={"description": "Replay attempts so far."})
    lastError = fields.String(required=True, allow_none=True, metadata={"description": "Why the last publish failed."})
    nextAttemptAt = fields.DateTime(
        required=True, allow_none=True, metadata={"description": "When the replay tries it next; null when failed."}
    )
    createdAt = fields.DateTime(required=True)


class QueuePage(Schema):
    """A page of the queue view."""

    items = fields.List(fields.Nested(QueueItem), required=True)
    nextCursor = fields.String(required=True, allow_none=True, metadata={"description": "Null on the last page."})


class QueueRetryResult(Schema):
    """The answer to a queue retry."""

    retried = fields.Integer(required=True, metadata={"description": "Failed items made pending again."})


class HealthServices(Schema):
    """Whether each backend answered within the check's deadline."""

    firestore = fields.String(required=True, validate=validate.OneOf(["connected", "disconnected"]))
    pubsub = fields.String(required=True, validate=validate.OneOf(["connected", "disconnected"]))


class Health(Schema):
    """The health report: 200 when every backend is connected, 503 otherwise."""

    status = fields.String(required=True, validate=validate.OneOf(["healthy", "unhealthy"]))
    timestamp = fields.DateTime(required=True)
    services = fields.Nested(HealthServices, required=True)
    version = fields.String(required=True)


def _declared_rules(self: FieldConverterMixin, field: fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
    """What a custom field of `shared.fields` declares of itself (its `openapi` attribute)."""
    return dict(getattr(field, "openapi", {}))


def _nests(schema: type[Schema]) -> bool:
    """Whether a schema has a field nesting another schema."""
    return any(
        isinstance(f, fields.Nested) or isinstance(getattr(f, "inner", None), fields.Nested)
        for f in schema().declared_fields.values()
    )


def _content(schema: str | dict[str, Any], media_type: str = "application/json") -> dict[str, Any]:
    return {media_type: {"schema": schema}}


def _problem(description: str, **headers: str) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _content("Problem", PROBLEM)}
    if headers:
        response["headers"] = {
            name.replace("_", "-"): {"$ref": f"#/components/headers/{ref}"} for name, ref in headers.items()
        }
    return response


_HEADERS = {
    "RetryAfter": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "WWWAuthenticate": {
        "description": 'RFC 6750 challenge, e.g. `Bearer realm="tweet-capture-api", error="invalid_token"`.',
        "required": True,
        "schema": {"type": "string"},
    },
    "Allow": {"description": "The methods this path takes.", "required": True, "schema": {"type": "string"}},
}

_LARGER_BODIES = "".join(f", {e.max_body} bytes for {e.path}" for e in ENDPOINTS if e.max_body != MAX_BODY_BYTES)
_RESPONSES = {
    "BadRequest": _problem("The body is not a JSON object, or fields are invalid (`errors` names each field)."),
    "BearerChallenge": _problem(
        "Missing, malformed, invalid or expired access token.", WWW_Authenticate="WWWAuthenticate"
    ),
    "MethodNotAllowed": _problem("The path does not take this method.", Allow="Allow"),
    "PayloadTooLarge": _problem(f"The body is larger than {MAX_BODY_BYTES} bytes{_LARGER_BODIES}."),
    "UnsupportedMediaType": _problem("The body is not sent as `application/json`."),
    "TooManyRequests": _problem("A rate limit was hit.", Retry_After="RetryAfter"),
    "InternalError": _problem("An unexpected failure (logged); never a stack trace."),
    "ServiceUnavailable": _problem("Firestore is unreachable; retry later.", Retry_After="RetryAfter"),
}

# Bodies that are not a component schema of their own.
_BODIES: dict[str, dict[str, Any]] = {
    "CaptureResult": _content(
        {
            "oneOf": [
                {"$ref": f"#/components/schemas/{name}"}
                for name in ("CapturePublished", "CaptureQueued", "CaptureDuplicate")
            ]
        }
    ),
    "OpenApiDocument": _content({"type": "object"}),
    "HtmlPage": _content({"type": "string"}, "text/html"),
}
_RETRY_AFTER = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}


def _answer(status: int, answer: Answer) -> dict[str, Any]:
    """One of an endpoint's own responses: its body (problem JSON for errors) and Retry-After if it sends one."""
    response: dict[str, Any] = {"description": answer.description}
    if answer.schema:
        response["content"] = _BODIES.get(answer.schema) or _content(answer.schema)
    elif status >= 400:
        response["content"] = _content("Problem", PROBLEM)
    if answer.retry_after:
        response["headers"] = _RETRY_AFTER
    return response


def _edge_errors(endpoint: Endpoint) -> dict[int, str]:
    """The errors shared.web.edge answers for this endpoint, by the component response that describes each."""
    edge = {405: "MethodNotAllowed", 500: "InternalError"}
    if endpoint.request:
        edge.update({400: "BadRequest", 413: "PayloadTooLarge", 415: "UnsupportedMediaType"})
    if endpoint.query:
        edge[400] = "BadRequest"
    if endpoint.uses_firestore:
        edge[503] = "ServiceUnavailable"
    if endpoint.bearer:
        edge[401] = "BearerChallenge"
    if endpoint.rate_limited:
        edge[429] = "TooManyRequests"
    return edge


def operation(endpoint: Endpoint) -> dict[str, Any]:
    """The OpenAPI operation of one declared endpoint."""
    responses: dict[str, Any] = {
        str(status): {"$ref": f"#/components/responses/{name}"} for status, name in _edge_errors(endpoint).items()
    }
    responses.update({str(status): _answer(status, answer) for status, answer in endpoint.answers.items()})
    result: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": endpoint.operation_id,
        "tags": [endpoint.tag],
        "responses": dict(sorted(responses.items())),
    }
    if endpoint.description:
        result["description"] = endpoint.description
    if endpoint.request:
        result["requestBody"] = {"required": True, "content": _content(endpoint.request)}
    if endpoint.query:
        result["parameters"] = [{"in": "query", "schema": endpoint.query}]
    if endpoint.bearer:
        result["security"] = [{BEARER: []}]
    return result


@functools.cache
def spec() -> dict[str, Any]:
    """The OpenAPI document of the API, built on first use and then reused (do not mutate it)."""
    plugin = MarshmallowPlugin()
    document = APISpec(
        title="Tweet Capture API",
        version=__version__,
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={
            "description": (
                "Captures liked tweets from the Chrome extension into Firestore and Pub/Sub. "
                "Paths are those of the single `api` function; a per-function deployment serves "
                "each endpoint at its function URL's root. Every error is RFC 9457 problem JSON. "
                "Every path also answers CORS preflight (`OPTIONS`) with 204."
            )
        },
    )
    plugin.converter.add_attribute_function(_declared_rules)
    requests = sorted({e.request for e in ENDPOINTS if e.request} | {e.query for e in ENDPOINTS if e.query})
    # A schema nesting another (a batch of captures) goes last, so the nested one is registered with its extras.
    for name in sorted(requests, key=lambda name: (_nests(_REQUEST_SCHEMAS[name]), name)):
        schema = _REQUEST_SCHEMAS[name]
        document.components.schema(name, component=dict(getattr(schema, "openapi", {})), schema=schema)
    responses = (
        Problem,
        AuthGrant,
        RefreshGrant,
        CapturePublished,
        CaptureQueued,
        CaptureDuplicate,
        BatchResult,
        Health,
    )
    for schema in responses:
        document.components.schema(schema.__name__, schema=schema)
    document.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for name, header in _HEADERS.items():
        document.components.header(name, header)
    for name, response in _RESPONSES.items():
        document.components.response(name, response)
    for endpoint in ENDPOINTS:
        if endpoint.path:
            document.path(path=endpoint.path, operations={m.lower(): operation(endpoint) for m in endpoint.methods})
    return document.to_dict()
