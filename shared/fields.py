"""Field types and formats shared by every request schema (marshmallow).

Every format the server enforces is declared on its field, in a form the
OpenAPI document (shared.web.openapi, through apispec) publishes as is: a `Pattern`
validator's regex is both what the server matches and the document's `pattern`,
and a custom field's `openapi` attribute is what the document says of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate


class Pattern(validate.Regexp):
    """A regex the whole value must match, written so Python and ECMA-262 (JSON Schema) read it alike.

    The pattern is anchored `^(?:...)$` and matched with `fullmatch`, so Python's `$`
    cannot let a trailing newline through; classes are ASCII (`[0-9]`, never a Unicode digit class).
    """

    def __init__(self, body: str, error: str) -> None:
        super().__init__(f"^(?:{body})$", error=error)

    def __call__(self, value: str) -> str:
        """The value, if the whole of it matches; ValidationError otherwise."""
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def decimal_at_most(limit: int) -> str:
    """A regex of the decimal integers 1..`limit`, without leading zeros (for ids bounded by a 64-bit int)."""
    digits = str(limit)
    shorter = f"[1-9][0-9]{{0,{len(digits) - 2}}}" if len(digits) > 1 else ""
    same_length = []
    for i, digit in enumerate(digits):
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            rest = len(digits) - i - 1
            tail = f"[0-9]{{{rest}}}" if rest else ""
            same_length.append(f"{digits[:i]}[{low}-{int(digit) - 1}]{tail}")
    same_length.append(digits)
    return "|".join(filter(None, [shorter, *same_length]))


INT64_MAX = 2**63 - 1
TWEET_ID = decimal_at_most(INT64_MAX)
_TWEET_ID_ERROR = "Must be the decimal string of a positive 64-bit integer, e.g. 1858123456789012345."

_DATE = (
    "(?!0000)[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
)
_TIME = "(?:[01][0-9]|2[0-3])(?::[0-5][0-9](?::[0-5][0-9](?:[.][0-9]{1,9})?)?)?"
_OFFSET = "Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]"
# A calendar date, optionally a time (hours, minutes, seconds and a fraction as far as given) and an offset.
ISO_DATE_TIME = f"(?:{_DATE})(?:[Tt ]{_TIME}(?:{_OFFSET})?)?"

_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# An absolute http(s) URL: DNS labels (or an IPv4 address), an optional port and a path, query or
# fragment of printable ASCII.
HTTP_URL = f"[Hh][Tt][Tt][Pp][Ss]?://{_LABEL}(?:[.]{_LABEL})*(?::[0-9]{{1,5}})?(?:[/?#][!-~]*)?"


class StrictBoolean(fields.Boolean):
    """A JSON true/false only: no "yes", 1 or "0" sneaking in."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class WholeNumber(fields.Integer):
    """A JSON integer: 5 and 5.0 (JSON does not tell them apart), never 5.5, "5" or true."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class IsoTimestamp(fields.String):
    """An ISO-8601 date or date-time (`ISO_DATE_TIME`), kept exactly as sent."""

    openapi: ClassVar[dict[str, Any]] = {
        "description": "An ISO-8601 date or date-time such as 2025-11-19T10:30:00.000Z, stored as sent.",
    }

    def __init__(self, **kwargs: Any) -> None:
        error = "Not an ISO-8601 date-time, e.g. 2025-11-19T10:30:00.000Z."
        super().__init__(validate=Pattern(ISO_DATE_TIME, error), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            datetime.fromisoformat(text)  # the pattern admits only what parses; this guards the promise
        except ValueError:
            raise ValidationError("Not an ISO-8601 date-time, e.g. 2025-11-19T10:30:00.000Z.") from None
        return text


def tweet_id_field(**kwargs: Any) -> fields.String:
    """A tweet id (or thread, parent, conversation id): the decimal string of a positive 64-bit integer."""
    return fields.String(validate=Pattern(TWEET_ID, _TWEET_ID_ERROR), **kwargs)


class Strict(Schema):
    """A request schema that drops fields it does not declare."""

    class Meta:  # noqa: D106
        unknown = EXCLUDE
