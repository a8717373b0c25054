"""Request schemas of the account endpoints: register, login, refresh, logout."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from marshmallow import ValidationError, fields, validate, validates

from shared.accounts.emails import normalize_email
from shared.accounts.passwords import MAX_PASSWORD_BYTES
from shared.fields import Strict, StrictBoolean

MAX_TOKEN_CHARS = 512
# (rule, message) of a strong password besides its length; also published as one lookahead pattern.
PASSWORD_CLASSES = (
    ("[A-Z]", "Must contain an upper-case letter."),
    ("[a-z]", "Must contain a lower-case letter."),
    ("[0-9]", "Must contain a digit."),
)


class NormalizedEmail(fields.String):
    """An e-mail address, normalised (see shared.accounts.emails) and then validated."""

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


class Credentials(Strict):
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

    registrationCode = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=MAX_TOKEN_CHARS),
        metadata={
            "description": "The deployment's one-time registration code, when it has one (a personal deployment "
            "does: its deploy creates the owner's account with it); without one, omit it."
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
            from shared.accounts.common_passwords import is_common

            if is_common(value):
                problems.append(
                    "Is one of the most common passwords, the first ones an attacker tries; choose another."
                )
        if problems:
            raise ValidationError(problems)


class RefreshRequest(Strict):
    """Refresh and logout body: the opaque refresh token."""

    refreshToken = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TOKEN_CHARS))


class LogoutRequest(RefreshRequest):
    """Logout body: the refresh token, and `everywhere` to end every session of its user."""

    everywhere = StrictBoolean(
        load_default=False, metadata={"description": "true: revoke every session of the token's user (default false)."}
    )
