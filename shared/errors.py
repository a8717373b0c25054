"""Typed API errors; shared.web.edge maps them to RFC 9457 problem JSON in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An error a client can act on: HTTP status, title, detail and extra headers."""

    status = 500
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
            "type": "about:blank",
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


class NotFound(ApiError):
    """No such endpoint."""

    status, title = 404, "Not Found"


class MethodNotAllowed(ApiError):
    """The endpoint does not take this method."""

    status, title = 405, "Method Not Allowed"

    def __init__(self, method: str, allowed: tuple[str, ...]) -> None:
        super().__init__(
            f"{method} is not allowed here; use {', '.join(allowed)}.",
            headers={"Allow": ", ".join((*allowed, *(("HEAD",) if "GET" in allowed else ()), "OPTIONS"))},
        )


class EmailTaken(ApiError):
    """The e-mail address already has an account."""

    status, title = 409, "Conflict"


class PayloadTooLarge(ApiError):
    """The body is over the size limit."""

    status, title = 413, "Payload Too Large"


class UnsupportedMediaType(ApiError):
    """The body is not JSON."""

    status, title = 415, "Unsupported Media Type"


class TooManyRequests(ApiError):
    """A rate limit was hit; Retry-After says when to come back."""

    status, title = 429, "Too Many Requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})


class ServiceUnavailable(ApiError):
    """A backend is unreachable; Retry-After says when to retry."""

    status, title = 503, "Service Unavailable"

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
