"""The OpenAPI 3 document of the `api` function, generated with apispec from the marshmallow schemas.

Request bodies come straight from `shared.schemas`, so the document cannot drift
from what the endpoints validate; the few rules marshmallow keeps in code (custom
fields, the password strength check) are described here, field by field. Only
GET /api/openapi.json imports this module, so no other function loads apispec.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.field_converter import FieldConverterMixin
from marshmallow import Schema, fields, validate

from shared import __version__
from shared.http import MAX_BODY_BYTES
from shared.schemas import (
    MAX_PASSWORD_BYTES,
    Credentials,
    IsoTimestamp,
    LogoutRequest,
    NormalizedEmail,
    RefreshRequest,
    Registration,
    TweetCapture,
)

OPENAPI_VERSION = "3.1.0"
BEARER = "bearerAuth"

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tweet Capture API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.28.0/swagger-ui.css">
</head>
<body>
<p style="font-family:sans-serif;margin:1em">Tweet Capture API &mdash; the OpenAPI document is
<a href="openapi.json">openapi.json</a>.</p>
<div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.28.0/swagger-ui-bundle.js" crossorigin></script>
<script>
// Relative to this page, so it also works behind a path prefix (e.g. a cloudfunctions.net URL).
window.onload = function () {
  window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true});
};
</script>
</body>
</html>
"""

# Registration's `@validates("password")` rules, as a pattern: an upper-case letter, a
# lower-case letter and a digit anywhere (`[\s\S]` also crosses line breaks).
_STRENGTH_RULES = r"^(?=[\s\S]*[A-Z])(?=[\s\S]*[a-z])(?=[\s\S]*[0-9])"
# Python's \A and \Z anchors have no ECMA-262 spelling; there ^ and $ mean the same.
_PYTHON_ANCHORS = re.compile(r"^\\A|\\Z$")
_ECMA_ANCHOR = {"\\A": "^", "\\Z": "$"}
_ISO_DATE_TIME = (
    r"^(?!0000)[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)


# The http(s) URLs marshmallow's URL validator (require_tld=False) accepts, in the common
# spelling: DNS labels, a last label of two or more characters, an optional port and a
# path, query or fragment of printable ASCII.
_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HTTP_URL = (
    f"^[Hh][Tt][Tt][Pp][Ss]?://({_LABEL}|({_LABEL}\\.)+[A-Za-z0-9][A-Za-z0-9-]{{0,61}}[A-Za-z0-9])"
    "(:[0-9]{1,5})?(/|[/?#][!-~]+)?$"
)


class Problem(Schema):
    """RFC 9457 problem details: the body of every error response."""

    type = fields.String(required=True, metadata={"example": "about:blank"})
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


def _custom_rules(self: FieldConverterMixin, field: fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
    """Describe what `shared.schemas` checks in code rather than with declarative validators."""
    extra: dict[str, Any] = {}
    pattern = ret.get("pattern")
    if pattern and _PYTHON_ANCHORS.search(pattern):
        extra["pattern"] = _PYTHON_ANCHORS.sub(lambda m: _ECMA_ANCHOR[m.group()], pattern)
    if isinstance(field, NormalizedEmail):
        extra.update(
            format="email",
            maxLength=254,
            description="Trimmed, NFKC-normalised, zero-width characters removed and lower-cased before use.",
        )
    elif isinstance(field, IsoTimestamp):
        extra.update(
            format="date-time",
            pattern=_ISO_DATE_TIME,
            maxLength=40,
            description="An RFC 3339 date-time such as 2025-11-19T10:30:00.000Z, stored as sent.",
        )
    elif isinstance(field, fields.Url):
        extra.update(pattern=_HTTP_URL, description="An absolute http(s) URL.")
    if isinstance(field.parent, Registration) and field.name == "password":
        extra.update(
            format="password",
            pattern=_STRENGTH_RULES,
            minLength=8,
            maxLength=MAX_PASSWORD_BYTES,
            description=(
                "At least 8 characters with an upper-case letter, a lower-case letter and a digit; "
                f"at most {MAX_PASSWORD_BYTES} bytes in UTF-8 (bcrypt's limit); not one of the "
                "19,640 most common passwords, whatever its case (400 says so)."
            ),
        )
    return extra


def _json_body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(description: str, schema: str | dict[str, Any], headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _problem(description: str, **headers: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": {"schema": "Problem"}},
    }
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

_RESPONSES = {
    "BadRequest": _problem("The body is not a JSON object, or fields are invalid (`errors` names each field)."),
    "BearerChallenge": _problem(
        "Missing, malformed, invalid or expired access token.", WWW_Authenticate="WWWAuthenticate"
    ),
    "MethodNotAllowed": _problem("The path does not take this method.", Allow="Allow"),
    "PayloadTooLarge": _problem(f"The body is larger than {MAX_BODY_BYTES} bytes."),
    "UnsupportedMediaType": _problem("The body is not sent as `application/json`."),
    "TooManyRequests": _problem("A rate limit was hit.", Retry_After="RetryAfter"),
    "InternalError": _problem("An unexpected failure (logged); never a stack trace."),
    "ServiceUnavailable": _problem("Firestore is unreachable; retry later.", Retry_After="RetryAfter"),
}

_JSON_ERRORS = {
    "400": "BadRequest",
    "405": "MethodNotAllowed",
    "413": "PayloadTooLarge",
    "415": "UnsupportedMediaType",
    "500": "InternalError",
    "503": "ServiceUnavailable",
}


def _post(summary: str, body: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"post": {"summary": summary, "requestBody": _json_body(body), "responses": responses, **extra}}


def _paths() -> dict[str, dict[str, Any]]:
    capture_result = {
        "oneOf": [
            {"$ref": "#/components/schemas/CapturePublished"},
            {"$ref": "#/components/schemas/CaptureQueued"},
            {"$ref": "#/components/schemas/CaptureDuplicate"},
        ]
    }
    get_only = {"405": "MethodNotAllowed", "500": "InternalError"}
    return {
        "/api/auth/register": _post(
            "Create an account and its first session",
            "Registration",
            {
                "201": _ok("The account was created.", "AuthGrant"),
                **_JSON_ERRORS,
                "403": _problem("ALLOWED_EMAILS is set and does not list this address."),
                "409": _problem("An account with this e-mail already exists."),
            },
            operationId="register",
            tags=["auth"],
        ),
        "/api/auth/login": _post(
            "Exchange e-mail and password for tokens",
            "Credentials",
            {
                "200": _ok("Logged in.", "AuthGrant"),
                **_JSON_ERRORS,
                "401": _problem("Unknown e-mail or wrong password (one answer for both)."),
                "403": _problem("The account is disabled."),
                "429": "TooManyRequests",
            },
            operationId="login",
            tags=["auth"],
            description=(
                "Failed logins are limited per client address (an IPv4 address, an IPv6 /64) and per e-mail, "
                "in 15-minute windows. After 5 failures an address waits 1, 2, 4, 8, 16, then 30 s between "
                "attempts, and after 20 it is refused until the window ends; failures from one address never "
                "refuse a correct login of the same e-mail from another. Only after 100 failures at one e-mail, "
                "from all addresses together, do attempts at it wait 1, 2, 4, ... up to 60 s after the last "
                "failure. Every refusal (401, 403, 429) takes one bcrypt check, like a wrong password."
            ),
        ),
        "/api/auth/refresh": _post(
            "A new access token for a live refresh token",
            "RefreshRequest",
            {
                "200": _ok("A fresh access token.", "RefreshGrant"),
                **_JSON_ERRORS,
                "401": _problem("The refresh token is invalid, expired or revoked."),
                "403": _problem("The account is disabled."),
            },
            operationId="refresh",
            tags=["auth"],
        ),
        "/api/auth/logout": _post(
            "Revoke the session of a refresh token, or with everywhere every session of its user",
            "LogoutRequest",
            {"204": {"description": "Logged out (also for an unknown or already revoked token)."}, **_JSON_ERRORS},
            operationId="logout",
            tags=["auth"],
        ),
        "/api/tweets/capture": _post(
            "Store a liked tweet once and publish it to Pub/Sub",
            "TweetCapture",
            {
                "200": _ok("Published, queued for retry, or already captured.", capture_result),
                **_JSON_ERRORS,
                "401": "BearerChallenge",
                "429": "TooManyRequests",
            },
            operationId="captureTweet",
            tags=["tweets"],
            security=[{BEARER: []}],
            description="At most RATE_LIMIT_PER_MINUTE (default 100) captures per user per minute.",
        ),
        "/api/health": {
            "get": {
                "summary": "Whether Firestore and Pub/Sub are reachable",
                "operationId": "health",
                "tags": ["ops"],
                "responses": {
                    "200": _ok("Both backends are connected.", "Health"),
                    "503": _ok(
                        "A backend is disconnected.",
                        "Health",
                        {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
                    ),
                    **get_only,
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "tags": ["ops"],
                "responses": {"200": _ok("The OpenAPI document.", {"type": "object"}), **get_only},
            }
        },
        "/api/docs": {
            "get": {
                "summary": "Human-readable API documentation",
                "operationId": "docs",
                "tags": ["ops"],
                "responses": {
                    "200": {"description": "An HTML page.", "content": {"text/html": {"schema": {"type": "string"}}}},
                    **get_only,
                },
            }
        },
    }


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
    plugin.converter.add_attribute_function(_custom_rules)
    for schema in (Registration, Credentials, RefreshRequest, LogoutRequest, TweetCapture):
        document.components.schema(schema.__name__, schema=schema)
    for schema in (Problem, AuthGrant, RefreshGrant, CapturePublished, CaptureQueued, CaptureDuplicate, Health):
        document.components.schema(schema.__name__, schema=schema)
    document.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for name, header in _HEADERS.items():
        document.components.header(name, header)
    for name, response in _RESPONSES.items():
        document.components.response(name, response)
    for path, operations in _paths().items():
        for operation in operations.values():
            operation["responses"] = dict(sorted(operation["responses"].items()))
        document.path(path=path, operations=operations)
    return document.to_dict()
