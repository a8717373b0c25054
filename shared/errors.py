"""Typed API errors; shared.web.edge maps them to RFC 9457 problem JSON in one place.

Every error class names its kind of problem; the body's `type` is `/problems/<kind>`,
the same for the same condition on every endpoint, so a client branches on it
without reading `title` or `detail`. The `api` router answers each of these URIs
with the explanation below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROBLEM_TYPES_PATH = "/problems/"

# kind: (status, explanation) of every problem type the API answers with.
PROBLEM_TYPES: Mapping[str, tuple[int, str]] = {
    "invalid-input": (
        400,
        "The request cannot be served as sent: the body is not a JSON object, a field or a query "
        "parameter is invalid (`errors` names each one), or a cursor was not issued to this account. "
        "Fix the request; sending it again unchanged gives the same answer.",
    ),
    "unauthorized": (
        401,
        "Credentials are missing or wrong: no access token, an expired or invalid one, or a wrong "
        "e-mail or password. Refresh the access token, or log in again.",
    ),
    "forbidden": (403, "The caller is known but not allowed: a disabled account, or an e-mail that may not register."),
    "not-found": (404, "Nothing here: no endpoint at this path, or a tweet this account never captured."),
    "method-not-allowed": (405, "This path does not take this method; the Allow header lists those it takes."),
    "conflict": (409, "The request conflicts with what exists: an account with this e-mail already exists."),
    "payload-too-large": (413, "The body is over the endpoint's size limit (64 KiB; 1 MiB for a batch capture)."),
    "unsupported-media-type": (415, "The body is not sent as JSON; send it with Content-Type: application/json."),
    "rate-limited": (429, "A limit was reached; send the request again after the Retry-After header's seconds."),
    "unavailable": (
        503,
        "The database is unreachable or busy for a moment; send the request again after the Retry-After "
        "header's seconds. Nothing was half-done.",
    ),
    "internal": (500, "An unexpected failure, logged on the server; the request may be sent again later."),
}


def problem_type(kind: str) -> str:
    """The `type` URI of a kind of problem."""
    return PROBLEM_TYPES_PATH + kind


class ApiError(Exception):
    """An error a client can act on: HTTP status, kind of problem, title, detail and extra headers."""

    status = 500
    kind = "internal"
    title = "Internal Server Error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})

    def to_problem(self) -> dict[str, object]:
        """The problem-details body of this error."""
        body: dict[str, object] = {
            "type": problem_type(self.kind),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class BadRequest(ApiError):
    """The request cannot be served as sent."""

    status, title = 400, "Bad Request"
    kind = "invalid-input"


class ValidationFailed(BadRequest):
    """The body parsed but some fields are invalid; `errors` names each field."""

    title = "Validation Failed"
    detail_text = "The request body has invalid fields."

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__(self.detail_text, errors=errors)


class InvalidQuery(ValidationFailed):
    """The query string parsed but some parameters are invalid; `errors` names each one."""

    detail_text = "The query string has invalid parameters."


class Unauthorized(ApiError):
    """Missing or wrong credentials."""

    status, title = 401, "Unauthorized"
    kind = "unauthorized"


class InvalidBearerToken(Unauthorized):
    """401 for a missing or unusable access token, with the RFC 6750 challenge."""

    def __init__(self, detail: str, error: str | None = "invalid_token") -> None:
        challenge = 'Bearer realm="tweet-capture-api"'
        if error:
            challenge += f', error="{error}"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(ApiError):
    """Authenticated, or identified, but not allowed."""

    status, title = 403, "Forbidden"
    kind = "forbidden"


class NotFound(ApiError):
    """No such endpoint, or nothing of this account at it."""

    status, title = 404, "Not Found"
    kind = "not-found"


class MethodNotAllowed(ApiError):
    """The endpoint does not take this method."""

    status, title = 405, "Method Not Allowed"
    kind = "method-not-allowed"

    def __init__(self, method: str, allowed: tuple[str, ...]) -> None:
        super().__init__(
            f"{method} is not allowed here; use {', '.join(allowed)}.",
            headers={"Allow": ", ".join((*allowed, *(("HEAD",) if "GET" in allowed else ()), "OPTIONS"))},
        )


class EmailTaken(ApiError):
    """The e-mail address already has an account."""

    status, title = 409, "Conflict"
    kind = "conflict"


class PayloadTooLarge(ApiError):
    """The body is over the size limit."""

    status, title = 413, "Payload Too Large"
    kind = "payload-too-large"


class UnsupportedMediaType(ApiError):
    """The body is not JSON."""

    status, title = 415, "Unsupported Media Type"
    kind = "unsupported-media-type"


class TooManyRequests(ApiError):
    """A rate limit was hit; Retry-After says when to come back."""

    status, title = 429, "Too Many Requests"
    kind = "rate-limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})


class ServiceUnavailable(ApiError):
    """A backend is unreachable; Retry-After says when to retry."""

    status, title = 503, "Service Unavailable"
    kind = "unavailable"

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def field_errors(messages: Mapping[Any, Any], prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as `{field: [message, ...]}`, list items named `field.index`."""
    flat: dict[str, list[str]] = {}
    for name, found in messages.items():
        key = f"{prefix}{name}"
        if isinstance(found, Mapping):
            flat.update(field_errors(found, f"{key}."))
        else:
            flat[key] = [str(m) for m in found] if isinstance(found, list) else [str(found)]
    return flat
