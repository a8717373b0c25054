"""bcrypt password hashing at a configurable cost, and checks that cost the same on every path."""

from __future__ import annotations

import functools

import bcrypt

MAX_PASSWORD_BYTES = 72  # bcrypt cannot hash more


# bcrypt's own base64 alphabet: 31 of its characters make a well-formed (never matching) digest.
_NO_DIGEST = b"." * 31


def hash_password(password: str, rounds: int) -> str:
    """A bcrypt hash of `password` at cost `rounds`; the password must fit in 72 bytes."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


@functools.cache
def dummy_hash(rounds: int) -> str:
    """A well-formed bcrypt hash at cost `rounds` that no password matches.

    Built from a fresh salt without hashing anything, so building it costs nothing
    and the first unknown e-mail pays exactly what every later one pays.
    """
    return (bcrypt.gensalt(rounds) + _NO_DIGEST).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """Whether `password` matches; False (never an error) for passwords bcrypt cannot take.

    Every call runs one bcrypt check at the hash's cost: a password over 72 bytes is
    checked as a stand-in against the same hash, so its refusal takes as long as a
    wrong password's.
    """
    encoded = password.encode("utf-8")
    too_long = len(encoded) > MAX_PASSWORD_BYTES
    try:
        matched = bcrypt.checkpw(b"over-long password" if too_long else encoded, password_hash.encode("ascii"))
    except ValueError:
        return False
    return matched and not too_long


def cost_of(password_hash: str) -> int:
    """The bcrypt cost a hash was made at (`$2b$12$...` is 12); 0 for a hash that is not bcrypt's."""
    parts = password_hash.split("$")
    return int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else 0


def check_password(password: str, stored_hash: str | None, rounds: int) -> bool:
    """Whether `password` matches `stored_hash` (None: there is no such account).

    A refusal always costs one check at cost max(stored, `rounds`): a hash made at a
    lower cost than the configured one is checked, then one check at the configured
    cost is spent on top, so an old cheap hash answers no faster than an unknown e-mail.
    """
    if stored_hash is None:
        burn_equivalent_time(rounds)
        return False
    matched = verify_password(password, stored_hash)
    if not matched and cost_of(stored_hash) < rounds:
        burn_equivalent_time(rounds)
    return matched


def burn_equivalent_time(rounds: int) -> None:
    """Spend one bcrypt check at cost `rounds`, so a path with no user to check costs what one with a user does."""
    bcrypt.checkpw(b"not-the-password", dummy_hash(rounds).encode("ascii"))
