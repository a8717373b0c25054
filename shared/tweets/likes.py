"""Reading captures back and taking likes back: lookup, paged listing, unlike.

What a capture is now is read from its tweet document alone, so a lookup of 500
ids is one batched read and a page of the listing one query:

- `unliked`: `unlikedAt` is set;
- `published`: the current like (sequence `likeSeq`) has its delivery recorded;
- `failed`: the replay gave up on the current like (`failedSeq` is `likeSeq`);
- `queued`: otherwise: stored, its `liked` event still in the outbox.

An unlike and a re-like of one tweet both change its document conditioned on the
version they read, so of two concurrent ones each acts on what the other left:
the one that commits last decides the final state, and its event has the higher
sequence.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import errors
from shared.db import MAX_CONFLICT_ROUNDS, QUEUE, TWEETS, bounded, dedup_key
from shared.tweets.outbox import Event, deliver
from shared.tweets.publish import SOURCE, UNLIKED, Publisher

ABSENT = "absent"
# What `status_of` and a lookup read: a lookup fetches only these, never the stored tweet itself.
_STATUS_FIELDS = ("createdAt", "unlikedAt", "likeSeq", "deliveries", "failedSeq")


def status_of(tweet: dict[str, Any]) -> str:
    """published, queued, failed or unliked, from a tweet document (see the module docstring)."""
    if tweet.get("unlikedAt") is not None:
        return "unliked"
    sequence = tweet.get("likeSeq") or 0
    if str(sequence) in (tweet.get("deliveries") or {}):
        return "published"
    if tweet.get("failedSeq") == sequence:
        return "failed"
    return "queued"


def iso(value: datetime | None) -> str | None:
    """A stored time as ISO-8601 UTC with `Z`, or None."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def captured(
    db: Any, user_id: str, tweet_ids: Sequence[str], fields: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The user's tweet documents of these ids (only `fields`, when given), by id in request order: one batched read."""
    distinct = list(dict.fromkeys(tweet_ids))
    refs = [db.collection(TWEETS).document(dedup_key(user_id, tweet_id)) for tweet_id in distinct]
    found = {s.id: s.to_dict() for s in db.get_all(refs, field_paths=fields, **bounded(10.0)) if s.exists}
    return {tweet_id: found[ref.id] for tweet_id, ref in zip(distinct, refs, strict=True) if ref.id in found}


def lookup(db: Any, user_id: str, tweet_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each distinct id's status and capture time for this user, in one batched read."""
    found = captured(db, user_id, tweet_ids, _STATUS_FIELDS)
    absent = {"status": ABSENT, "capturedAt": None}
    return {
        tweet_id: {"status": status_of(tweet), "capturedAt": iso(tweet.get("createdAt"))}
        if (tweet := found.get(tweet_id)) is not None
        else absent
        for tweet_id in dict.fromkeys(tweet_ids)
    }


def _cursor_mac(key: str, purpose: str, user_id: str, payload: bytes) -> bytes:
    """The cursor's 128-bit tag, under a key derived from the server key for this view's cursors alone."""
    from shared.db import derive_key

    mac = hmac.new(derive_key(key, f"{purpose}-cursor"), user_id.encode() + b"\0" + payload, hashlib.sha256)
    return mac.digest()[:16]


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last document's time, place and id, signed for its user and its view.

    Each view (`purpose`) signs its cursors with its own key: one view's cursor is a
    400 at another, never a wrong page.
    """

    created_at: str
    order: int
    doc_id: str

    LISTING = "listing"
    QUEUE = "queue"
    REPUBLISH = "republish"

    def encode(self, user_id: str, key: str, purpose: str) -> str:
        """The opaque token a client sends back as `cursor`."""
        payload = json.dumps([self.created_at, self.order, self.doc_id], separators=(",", ":")).encode()
        mac = _cursor_mac(key, purpose, user_id, payload)
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str | None, user_id: str, key: str, purpose: str) -> Cursor | None:
        """The cursor in `token` (None without one).

        400 when this view did not hand it to this user (tampered with, another user's
        or another view's): InvalidQuery, or ValidationFailed for republish's body.
        """
        if token is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        mac, payload = raw[:16], raw[16:]
        if len(mac) != 16 or not hmac.compare_digest(mac, _cursor_mac(key, purpose, user_id, payload)):
            refused = errors.ValidationFailed if purpose == cls.REPUBLISH else errors.InvalidQuery
            raise refused({"cursor": ["Not a cursor this view gave you; start again without one."]})
        created_at, order, doc_id = json.loads(payload)
        return cls(created_at, order, doc_id)


def list_page(db: Any, user_id: str, limit: int, cursor: Cursor | None) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of the user's captures, oldest first, and the cursor of the next page (None at the end)."""
    tweets, following = captures_page(db, user_id, limit, cursor)
    return [_item(tweet) for tweet in tweets], following


def captures_page(
    db: Any, user_id: str, limit: int, cursor: Cursor | None, since: datetime | None = None
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of the user's tweet documents (created at or after `since`), oldest first, and the next cursor.

    Captures are ordered by their server-side creation time (a batch's commit time),
    then their place in their batch, then document id. One made while a client pages
    has a later time than every page already read: it shows up on a later page, and
    nothing is skipped or repeated.
    """
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds
    from google.cloud import firestore
    from google.cloud.firestore_v1.field_path import FieldPath

    query = db.collection(TWEETS).where(filter=firestore.FieldFilter("userId", "==", user_id))
    if since is not None:
        query = query.where(filter=firestore.FieldFilter("createdAt", ">=", since))
    query = query.order_by("createdAt").order_by("captureOrder").order_by(FieldPath.document_id())
    if cursor is not None:
        after = {
            "createdAt": DatetimeWithNanoseconds.from_rfc3339(cursor.created_at),
            "captureOrder": cursor.order,
            FieldPath.document_id(): db.collection(TWEETS).document(cursor.doc_id),
        }
        query = query.start_after(after)
    snapshots = list(query.limit(limit + 1).get(**bounded(10.0)))
    page = snapshots[:limit]
    last = page[-1] if len(snapshots) > limit else None
    following = Cursor(last.get("createdAt").rfc3339(), last.get("captureOrder"), last.id) if last else None
    return [s.to_dict() for s in page], following


def _item(tweet: dict[str, Any]) -> dict[str, Any]:
    return {
        "tweetId": tweet["tweetId"],
        "status": status_of(tweet),
        "createdAt": iso(tweet.get("createdAt")),
        "unlikedAt": iso(tweet.get("unlikedAt")),
        "tweet": tweet.get("rawData"),
    }


def unlike(db: Any, publisher: Publisher, user_id: str, tweet_id: str, now: datetime) -> str:
    """Mark the capture unliked and publish its `unliked` event; `already_unliked` on a repeat.

    NotFound when the user never captured the tweet.
    """
    from google.api_core.exceptions import FailedPrecondition

    ref = db.collection(TWEETS).document(dedup_key(user_id, tweet_id))
    for _ in range(MAX_CONFLICT_ROUNDS):
        snapshot = ref.get(**bounded())
        if not snapshot.exists:
            raise errors.NotFound("This tweet was never captured by this account.")
        if snapshot.get("unlikedAt") is not None:
            return "already_unliked"
        raw = snapshot.get("rawData") or {}
        event = Event(
            user_id,
            tweet_id,
            UNLIKED,
            (snapshot.get("likeSeq") or 0) + 1,
            {"tweetId": tweet_id, "unlikedAt": iso(now)},
            raw.get("source") or SOURCE,
            now.date().isoformat(),
        )
        batch = db.batch()
        batch.update(
            ref,
            {"unlikedAt": now, "likeSeq": event.sequence},
            option=db.write_option(last_update_time=snapshot.update_time),
        )
        batch.create(db.collection(QUEUE).document(event.item_id), event.queue_item(now))
        try:
            batch.commit(**bounded())
        except FailedPrecondition:
            continue  # a capture or another unlike changed it since the read: look again
        deliver(db, publisher, [event], now)
        return "unliked"
    raise errors.ServiceUnavailable("This tweet is being changed by other requests; send the unlike again.", 1)
