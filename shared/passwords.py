"""bcrypt password hashing at a configurable cost."""

from __future__ import annotations

import functools

import bcrypt

from shared.schemas import MAX_PASSWORD_BYTES


def hash_password(password: str, rounds: int) -> str:
    """A bcrypt hash of `password` at cost `rounds`; the password must fit in 72 bytes."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """Whether `password` matches; False (never an error) for passwords bcrypt cannot take."""
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode("ascii"))
    except ValueError:
        return False


@functools.cache
def _dummy_hash(rounds: int) -> str:
    return hash_password("dummy-password-for-timing", rounds)


def burn_equivalent_time(rounds: int) -> None:
    """Spend one bcrypt check, so an unknown e-mail costs what a wrong password costs."""
    bcrypt.checkpw(b"not-the-password", _dummy_hash(rounds).encode("ascii"))
