"""Accounts and sessions: register, log in, refresh and log out against Firestore.

Users live in `users/{userId}`; `emails/{sha256(email)}` makes an e-mail unique
(created in the same batch as the user, so two concurrent sign-ups cannot both
win). A session is `sessions/{sessionId}` holding only the SHA-256 of its refresh
token; `expiresAt` drives the TTL policy that deletes it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import errors
from shared.accounts import login_limits, passwords, tokens
from shared.accounts.emails import normalize_email
from shared.config import Settings
from shared.db import EMAILS, MAX_CONFLICT_ROUNDS, SESSIONS, USERS, bounded, derive_key, key_digest
from shared.logs import log

_INVALID_LOGIN = "Invalid email or password."
_INVALID_REFRESH = "The refresh token is invalid, expired or revoked."
_REGISTRATION_REFUSED = "This deployment does not take this registration."
# One document per spent registration code (its digest): a code creates one account, once.
REGISTRATION_CODES = "registrationCodes"


@dataclass(frozen=True)
class Grant:
    """What a successful register, login or refresh hands the client."""

    user_id: str
    access_token: str
    expires_in: int
    refresh_token: str | None = None
    email: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The response body, in the spec's field names."""
        body: dict[str, Any] = {}
        if self.email is not None:
            body["userId"] = self.user_id
            body["email"] = self.email
        body["accessToken"] = self.access_token
        if self.refresh_token is not None:
            body["refreshToken"] = self.refresh_token
        body["expiresIn"] = self.expires_in
        body["tokenType"] = "Bearer"
        return body


def _session_document(user_id: str, session_id: str, settings: Settings, now: datetime) -> tuple[dict, str]:
    from google.cloud import firestore

    seed = tokens.new_seed()
    refresh_token = tokens.session_token(settings.require_jwt_secret(), session_id, seed, 0)
    document = {
        "userId": user_id,
        "refreshTokenHash": tokens.hash_refresh_token(refresh_token),
        "seed": seed,
        "generation": 0,
        "previousTokenHash": None,
        "rotatedAt": None,
        "expiresAt": now + timedelta(days=settings.refresh_token_expire_days),
        "createdAt": firestore.SERVER_TIMESTAMP,
        "lastUsedAt": now,
        "revokedAt": None,
    }
    return document, refresh_token


def _grant(user_id: str, settings: Settings, now: datetime, **extra: Any) -> Grant:
    access = tokens.create_access_token(user_id, settings.require_jwt_secret(), now, settings.access_token_ttl_seconds)
    return Grant(user_id=user_id, access_token=access, expires_in=settings.access_token_ttl_seconds, **extra)


def _email_tag(email: str, settings: Settings) -> str:
    """A short keyed digest of an e-mail for the audit log: it links the failures at one account, names none."""
    key = derive_key(settings.require_jwt_secret(), "audit-email")
    return hmac.new(key, email.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


def register(db: Any, email: str, password: str, settings: Settings, now: datetime, code: str | None = None) -> Grant:
    """Create a user and its first session.

    Open (no REGISTRATION_CODE, no ALLOWED_EMAILS): EmailTaken for a registered e-mail.
    Closed: every refusal is the same 403 body. A wrong or missing code is refused
    first, without bcrypt or Firestore: it is answered before any e-mail is looked at,
    so it tells nothing about one. Past the code (or with ALLOWED_EMAILS alone), an
    e-mail not allowed, an e-mail taken and a spent code each cost the one bcrypt hash
    a registration costs: a spent code is known only when the commit that would spend
    it fails, so it looks like a taken e-mail, and neither time nor body tells which
    e-mail is the owner's.
    """
    from google.api_core.exceptions import Conflict
    from google.cloud import firestore

    expected = settings.registration_code.strip()
    if expected and (code is None or not hmac.compare_digest(code.encode(), expected.encode())):
        raise errors.Forbidden(_REGISTRATION_REFUSED)
    allowed = settings.allowed_emails
    closed = bool(expected) or allowed is not None
    if allowed is not None and email not in {normalize_email(entry) for entry in allowed}:
        passwords.hash_password(password, settings.bcrypt_rounds)  # a refusal costs what a registration costs
        raise errors.Forbidden(_REGISTRATION_REFUSED)
    user_id = tokens.new_session_id()
    session_id = tokens.new_session_id()
    session, refresh_token = _session_document(user_id, session_id, settings, now)
    batch = db.batch()
    if expected:
        batch.create(
            db.collection(REGISTRATION_CODES).document(key_digest(expected)),
            {"userId": user_id, "usedAt": firestore.SERVER_TIMESTAMP},
        )
    batch.create(
        db.collection(EMAILS).document(key_digest(email)),
        {"userId": user_id, "createdAt": firestore.SERVER_TIMESTAMP},
    )
    batch.create(
        db.collection(USERS).document(user_id),
        {
            "email": email,
            "passwordHash": passwords.hash_password(password, settings.bcrypt_rounds),
            "isActive": True,
            "createdAt": firestore.SERVER_TIMESTAMP,
            "updatedAt": firestore.SERVER_TIMESTAMP,
        },
    )
    batch.create(db.collection(SESSIONS).document(session_id), session)
    try:
        batch.commit(**bounded())
    except Conflict:
        if closed:
            raise errors.Forbidden(_REGISTRATION_REFUSED) from None
        raise errors.EmailTaken("An account with this e-mail already exists.") from None
    return _grant(user_id, settings, now, refresh_token=refresh_token, email=email)


def login(db: Any, email: str, password: str, address: str, settings: Settings, now: datetime) -> Grant:
    """Check the password and open a session; one 401 for unknown e-mail and wrong password.

    A refusal by the failed-login limits (429) costs no bcrypt check and writes nothing.
    Every 401 costs one bcrypt check at max(stored, configured) cost, so timing tells no
    account apart; a success re-hashes a password stored at another cost.
    """
    from google.cloud import firestore

    try:
        attempt = login_limits.reserve_attempt(db, email, address, now)
    except errors.TooManyRequests:
        log(
            "WARNING",
            "login limited",
            event="login.limited",
            clientAddress=address,
            emailTag=_email_tag(email, settings),
        )
        raise
    query = db.collection(USERS).where(filter=firestore.FieldFilter("email", "==", email)).limit(1)
    found = list(query.get(**bounded()))
    user = found[0] if found else None
    stored_hash = user.get("passwordHash") if user is not None else None
    if not passwords.check_password(password, stored_hash or None, settings.bcrypt_rounds):
        attempt.failed(db, now)
        log(
            "WARNING", "login failed", event="login.failed", clientAddress=address, emailTag=_email_tag(email, settings)
        )
        raise errors.Unauthorized(_INVALID_LOGIN)
    batch = db.batch()
    attempt.give_back(db, batch)
    if user.get("isActive") is False:
        batch.commit(**bounded())
        log("WARNING", "login refused", event="login.refused", userId=user.id, clientAddress=address,
            reason="account disabled")  # fmt: skip
        raise errors.Forbidden("This account is disabled.")
    if passwords.cost_of(stored_hash) != settings.bcrypt_rounds:
        batch.update(user.reference, {"passwordHash": passwords.hash_password(password, settings.bcrypt_rounds)})
    session_id = tokens.new_session_id()
    session, refresh_token = _session_document(user.id, session_id, settings, now)
    batch.create(db.collection(SESSIONS).document(session_id), session)
    batch.commit(**bounded())
    log("INFO", "login succeeded", event="login.succeeded", userId=user.id, clientAddress=address)
    return _grant(user.id, settings, now, refresh_token=refresh_token, email=email)


def _live_session(snapshot: Any, now: datetime) -> dict[str, Any]:
    if not snapshot.exists:
        raise errors.Unauthorized(_INVALID_REFRESH)
    session = snapshot.to_dict()
    if session.get("revokedAt") is not None or session["expiresAt"] <= now:
        raise errors.Unauthorized(_INVALID_REFRESH)
    return session


def _require_active(db: Any, user_id: str) -> None:
    """403 when the session's account was disabled (or deleted): no new access tokens for it."""
    user = db.collection(USERS).document(user_id).get(**bounded())
    if not user.exists or user.get("isActive") is False:
        raise errors.Forbidden("This account is disabled.")


def _parse(raw_token: str) -> tokens.RefreshToken:
    try:
        return tokens.parse_refresh_token(raw_token)
    except tokens.TokenError:
        raise errors.Unauthorized(_INVALID_REFRESH) from None


def refresh(db: Any, raw_token: str, settings: Settings, now: datetime, address: str = "") -> Grant:
    """A new access token for a live session (and, with rotation on, a new refresh token).

    A token that is not well formed is refused before any Firestore call.
    """
    presented = _parse(raw_token)
    ref = db.collection(SESSIONS).document(presented.session_id)
    if settings.refresh_token_rotation:
        return _refresh_rotating(db, ref, presented, settings, now, address)
    session = _live_session(ref.get(**bounded()), now)
    if not tokens.same_digest(presented.digest, session.get("refreshTokenHash")):
        raise errors.Unauthorized(_INVALID_REFRESH)
    _require_active(db, session["userId"])
    ref.update({"lastUsedAt": now}, **bounded())
    return _grant(session["userId"], settings, now)


def _within_grace(session: dict[str, Any], digest: str, seconds: int, now: datetime) -> bool:
    """Whether `digest` is the session's previous token, retired no more than `seconds` ago."""
    rotated_at = session.get("rotatedAt")
    return (
        tokens.same_digest(digest, session.get("previousTokenHash"))
        and rotated_at is not None
        and (now - rotated_at).total_seconds() <= seconds
    )


def _refresh_rotating(
    db: Any, ref: Any, presented: tokens.RefreshToken, settings: Settings, now: datetime, address: str
) -> Grant:
    """Rotate with a compare-and-set write: of concurrent refreshes exactly one rotates.

    The write is conditioned on the session's update time, so it is atomic like a
    transaction but takes no lock (the emulator stalls on contended transactions).
    A loser re-reads and, within the grace window, gets the winner's token back.
    """
    from google.api_core.exceptions import FailedPrecondition

    key = settings.require_jwt_secret()
    active_checked = False
    for _ in range(MAX_CONFLICT_ROUNDS):
        snapshot = ref.get(**bounded())
        session = _live_session(snapshot, now)
        if not active_checked:
            _require_active(db, session["userId"])
            active_checked = True
        if tokens.same_digest(presented.digest, session.get("refreshTokenHash")):
            generation = session["generation"] + 1
            new_token = tokens.session_token(key, presented.session_id, session["seed"], generation)
            try:
                ref.update(
                    {
                        "refreshTokenHash": tokens.hash_refresh_token(new_token),
                        "generation": generation,
                        "previousTokenHash": presented.digest,
                        "rotatedAt": now,
                        "lastUsedAt": now,
                    },
                    option=db.write_option(last_update_time=snapshot.update_time),
                    **bounded(),
                )
            except FailedPrecondition:
                continue  # another refresh won the race: re-read and take the grace path
            return _grant(session["userId"], settings, now, refresh_token=new_token)
        if _within_grace(session, presented.digest, settings.refresh_token_grace_seconds, now):
            current = tokens.session_token(key, presented.session_id, session["seed"], session["generation"])
            if tokens.same_digest(tokens.hash_refresh_token(current), session.get("refreshTokenHash")):
                return _grant(session["userId"], settings, now, refresh_token=current)
        if not tokens.was_issued(key, presented.session_id, session["seed"], session["generation"], presented.digest):
            raise errors.Unauthorized(_INVALID_REFRESH)  # never this session's token: it proves nothing, ends nothing
        # The retired token came back after its grace: someone else may hold it. End the whole session.
        ref.update({"revokedAt": now, "revokedReason": "refresh token reuse"}, **bounded())
        log("WARNING", "refresh token reuse", event="refresh.reuse_detected", userId=session["userId"],
            clientAddress=address)  # fmt: skip
        raise errors.Unauthorized(_INVALID_REFRESH)
    raise errors.ServiceUnavailable("The session is busy; retry the refresh.", retry_after=1)


def logout(
    db: Any, raw_token: str, settings: Settings, now: datetime, everywhere: bool = False, address: str = ""
) -> int:
    """Revoke the session of a refresh token, or with `everywhere` every session of its user.

    Only the session's current token revokes it, or its previous one within the grace
    window (a client that lost the refresh answer); `everywhere` takes the current token
    only. Anything else is a no-op, as are unknown and already revoked sessions; a token
    that is not well formed is answered without a Firestore call. Returns how many
    sessions were revoked. Access tokens already issued live out their lifetime.
    """
    try:
        presented = tokens.parse_refresh_token(raw_token)
    except tokens.TokenError:
        return 0
    ref = db.collection(SESSIONS).document(presented.session_id)
    snapshot = ref.get(**bounded())
    if not snapshot.exists:
        return 0
    session = snapshot.to_dict()
    if session.get("revokedAt") is not None:
        return 0
    current = tokens.same_digest(presented.digest, session.get("refreshTokenHash"))
    if everywhere and current:
        revoked = _revoke_all(db, session["userId"], now)
        log("INFO", "logout everywhere", event="logout.everywhere", userId=session["userId"], clientAddress=address,
            sessions=revoked)  # fmt: skip
        return revoked
    if everywhere or not (
        current or _within_grace(session, presented.digest, settings.refresh_token_grace_seconds, now)
    ):
        return 0
    ref.update({"revokedAt": now, "revokedReason": "logout"}, **bounded())
    log("INFO", "logout", event="logout", userId=session["userId"], clientAddress=address)
    return 1


def _revoke_all(db: Any, user_id: str, now: datetime) -> int:
    """Revoke every live session of a user, in batches of at most 500 writes."""
    from google.cloud import firestore

    query = db.collection(SESSIONS).where(filter=firestore.FieldFilter("userId", "==", user_id))
    live = [s.reference for s in query.get(**bounded()) if s.get("revokedAt") is None]
    for start in range(0, len(live), 500):
        batch = db.batch()
        for reference in live[start : start + 500]:
            batch.update(reference, {"revokedAt": now, "revokedReason": "logout everywhere"})
        batch.commit(**bounded())
    return len(live)
