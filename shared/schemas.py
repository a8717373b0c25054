"""Request schemas (marshmallow): validate at the edge, hand the core clean data."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates

from shared.emails import normalize_email

MAX_PASSWORD_BYTES = 72  # bcrypt cannot hash more
MAX_TOKEN_CHARS = 512
_DIGITS = re.compile(r"\A[0-9]{15,20}\Z")
_OPTIONAL_ID = re.compile(r"\A[0-9]{1,20}\Z")


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

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        email = normalize_email(super()._deserialize(value, attr, data, **kwargs))
        if len(email) > 254:
            raise ValidationError("Longer than 254 characters.")
        validate.Email(error="Not a valid email address.")(email)
        return email


class IsoTimestamp(fields.String):
    """An ISO-8601 date-time, kept exactly as sent once it parses."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            if len(text) > 40:
                raise ValueError
            datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError("Not an ISO-8601 date-time, e.g. 2025-11-19T10:30:00.000Z.") from None
        return text


class _Strict(Schema):
    class Meta:
        unknown = EXCLUDE


class Credentials(_Strict):
    """Login body: an e-mail and a password (no strength rules: they only apply at sign-up)."""

    email = NormalizedEmail(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class Registration(Credentials):
    """Registration body: a valid e-mail and a strong password bcrypt can hash."""

    password = fields.String(required=True)

    @validates("password")
    def _strong(self, value: str, **_: Any) -> None:
        problems = []
        if len(value) < 8:
            problems.append("Must be at least 8 characters.")
        if len(value.encode("utf-8")) > MAX_PASSWORD_BYTES:
            problems.append(f"Must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8.")
        if not re.search(r"[A-Z]", value):
            problems.append("Must contain an upper-case letter.")
        if not re.search(r"[a-z]", value):
            problems.append("Must contain a lower-case letter.")
        if not re.search(r"[0-9]", value):
            problems.append("Must contain a digit.")
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


class TweetCapture(_Strict):
    """A liked tweet as the extension's content script reads it from the page."""

    tweetId = fields.String(
        required=True, validate=validate.Regexp(_DIGITS, error="Must be a string of 15 to 20 digits.")
    )
    tweetUrl = fields.Url(schemes={"http", "https"}, require_tld=False, load_default=None, allow_none=True)
    tweetText = fields.String(required=True, validate=validate.Length(max=5000))
    authorUsername = fields.String(required=True, validate=validate.Length(min=1, max=100))
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
    threadId = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(_OPTIONAL_ID))
    parentTweetId = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(_OPTIONAL_ID))
    conversationId = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(_OPTIONAL_ID))
