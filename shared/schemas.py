"""Request schemas (marshmallow): validate at the edge, hand the core clean data.

Every format the server enforces is declared on its field, in a form the
OpenAPI document (shared.openapi, through apispec) publishes as is: a `Pattern`
validator's regex is both what the server matches and the document's `pattern`,
and a custom field's `openapi` attribute is what the document says of it.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates, validates_schema

from shared.emails import normalize_email

MAX_PASSWORD_BYTES = 72  # bcrypt cannot hash more
MAX_TOKEN_CHARS = 512
# (rule, message) of a strong password besides its length; also published as one lookahead pattern.
PASSWORD_CLASSES = (
    ("[A-Z]", "Must contain an upper-case letter."),
    ("[a-z]", "Must contain a lower-case letter."),
    ("[0-9]", "Must contain a digit."),
)


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

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


class NormalizedEmail(fields.String):
    """An e-mail address, normalised (see shared.emails) and then validated."""

    openapi: ClassVar[dict[str, Any]] = {
        "format": "email",
        "maxLength": 254,
        "description": "Trimmed, NFKC-normalised, zero-width characters removed and lower-cased before use.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        email = normalize_email(super()._deserialize(value, attr, data, **kwargs))
        if len(email) > 254:
            raise ValidationError("Longer than 254 characters.")
        validate.Email(error="Not a valid email address.")(email)
        return email


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


class _Strict(Schema):
    class Meta:
        unknown = EXCLUDE


class Credentials(_Strict):
    """Login body: an e-mail and a password (no strength rules: they only apply at sign-up)."""

    email = NormalizedEmail(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class Registration(Credentials):
    """Registration body: a valid e-mail and a strong password bcrypt can hash."""

    password = fields.String(
        required=True,
        metadata={
            "format": "password",
            # `[\s\S]` also crosses line breaks; ECMA-262 has no DOTALL flag in JSON Schema.
            "pattern": "^" + "".join(f"(?=[\\s\\S]*{rule})" for rule, _ in PASSWORD_CLASSES),
            "minLength": 8,
            "maxLength": MAX_PASSWORD_BYTES,
            "description": (
                "At least 8 characters with an upper-case letter, a lower-case letter and a digit; "
                f"at most {MAX_PASSWORD_BYTES} bytes in UTF-8 (bcrypt's limit); not one of the "
                "19,640 most common passwords, whatever its case (400 says so)."
            ),
        },
    )

    @validates("password")
    def _strong(self, value: str, **_: Any) -> None:
        problems = []
        if len(value) < 8:
            problems.append("Must be at least 8 characters.")
        if len(value.encode("utf-8")) > MAX_PASSWORD_BYTES:
            problems.append(f"Must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8.")
        problems.extend(message for rule, message in PASSWORD_CLASSES if not re.search(rule, value))
        if not problems:
            from shared.common_passwords import is_common

            if is_common(value):
                problems.append(
                    "Is one of the most common passwords, the first ones an attacker tries; choose another."
                )
        if problems:
            raise ValidationError(problems)


class RefreshRequest(_Strict):
    """Refresh and logout body: the opaque refresh token."""

    refreshToken = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TOKEN_CHARS))


class LogoutRequest(RefreshRequest):
    """Logout body: the refresh token, and `everywhere` to end every session of its user."""

    everywhere = StrictBoolean(
        load_default=False, metadata={"description": "true: revoke every session of the token's user (default false)."}
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


SOURCES = ("chrome-extension", "archive")
MAX_URL_LENGTH = 2048
MAX_BATCH_ITEMS = 100


class TweetCapture(_Strict):
    """A liked tweet as the extension's content script reads it from the page, or from the X data archive.

    An archive like has no author: `authorUsername` is required unless `source` is `archive`.
    """

    # The same rule in JSON Schema: outside the archive, authorUsername is a required string.
    openapi: ClassVar[dict[str, Any]] = {
        "if": {"properties": {"source": {"const": "archive"}}, "required": ["source"]},
        "else": {"required": ["authorUsername"], "properties": {"authorUsername": {"type": "string"}}},
    }

    tweetId = tweet_id_field(required=True)
    tweetUrl = fields.String(
        load_default=None,
        allow_none=True,
        # Bounded like every other field, so that a stored tweet stays far below Firestore's 1 MiB a document.
        validate=[Pattern(HTTP_URL, "Not a valid http(s) URL."), validate.Length(max=MAX_URL_LENGTH)],
        metadata={"description": f"An absolute http(s) URL, at most {MAX_URL_LENGTH} characters."},
    )
    tweetText = fields.String(required=True, validate=validate.Length(max=5000))
    authorUsername = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    authorDisplayName = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    timestamp = IsoTimestamp(load_default=None, allow_none=True)
    capturedAt = WholeNumber(load_default=_now_ms, validate=validate.Range(min=0, max=10**14))
    isReply = StrictBoolean(load_default=False)
    isRetweet = StrictBoolean(load_default=False)
    isQuoteTweet = StrictBoolean(load_default=False)
    isThread = StrictBoolean(load_default=False)
    hasImage = StrictBoolean(load_default=False)
    hasVideo = StrictBoolean(load_default=False)
    hasLink = StrictBoolean(load_default=False)
    threadId = tweet_id_field(load_default=None, allow_none=True)
    parentTweetId = tweet_id_field(load_default=None, allow_none=True)
    conversationId = tweet_id_field(load_default=None, allow_none=True)
    source = fields.String(load_default=SOURCES[0], validate=validate.OneOf(SOURCES))

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _author_unless_archive(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        given = original.get("authorUsername", ...) if isinstance(original, dict) else ...
        if data.get("source", SOURCES[0]) == "archive" or given not in (None, ...):
            return  # a given author is checked by its field
        message = "Field may not be null." if given is None else "Missing data for required field."
        raise ValidationError(message, "authorUsername")


class BatchItems(fields.List):
    """A list of capture bodies: checked here only for being objects; each is validated on its own later.

    So the document says what the server enforces of the batch itself: objects. An invalid item is
    a result of its own (`invalid` with its field errors), never a 400 for the batch.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        not_objects = [str(i) for i, item in enumerate(value) if not isinstance(item, dict)]
        if not_objects:
            raise ValidationError(f"Each item must be a capture object; these are not: {', '.join(not_objects[:10])}.")
        return list(value)


class CaptureBatch(_Strict):
    """Batch capture body: 1 to 100 captures, each validated like a single capture's body."""

    tweets = BatchItems(
        fields.Dict(metadata={"description": "A body as /api/tweets/capture takes it (TweetCapture)."}),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH_ITEMS),
    )


MAX_LOOKUP_IDS = 500
MAX_PAGE = 1000


class LookupRequest(_Strict):
    """Lookup body: 1 to 500 tweet ids (repeats allowed; each is answered once)."""

    tweetIds = fields.List(tweet_id_field(), required=True, validate=validate.Length(min=1, max=MAX_LOOKUP_IDS))


class ListQuery(_Strict):
    """The listing's query string: a page size and the cursor of the previous page."""

    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": "Captures per page, 1 to 1000 (default 100)."},
    )
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=512),
        metadata={"description": "The `nextCursor` of the previous page; absent for the first page."},
    )


class UnlikeRequest(_Strict):
    """Unlike body: the tweet the user took the like back from."""

    tweetId = tweet_id_field(required=True)
