"""Request schemas of the tweet endpoints: capture, batch, lookup, listing, unlike."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from marshmallow import RAISE, ValidationError, fields, validate, validates_schema

from shared.fields import HTTP_URL, IsoTimestamp, Pattern, Strict, StrictBoolean, WholeNumber, tweet_id_field
from shared.tweets.publish import SOURCE


def _now_ms() -> int:
    return int(time.time() * 1000)


SOURCES = (SOURCE, "archive")
# After the host, only RFC 3986's characters (unreserved, reserved, percent-encodings): nothing a page
# that shows the URL could read as markup (no quotes, angle brackets, braces, backslashes or spaces).
_URI_CHARACTER = "[A-Za-z0-9._~:/?#\\[\\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2}"
TWEET_URL = HTTP_URL.replace("[!-~]*", f"(?:{_URI_CHARACTER})*")
# An X username: letters, digits and underscores (15 at most today; older accounts may hold a few more).
USERNAME = "[A-Za-z0-9_]{1,50}"
MAX_URL_LENGTH = 2048
MAX_BATCH_ITEMS = 100


class TweetCapture(Strict):
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
        validate=[Pattern(TWEET_URL, "Not a valid http(s) URL."), validate.Length(max=MAX_URL_LENGTH)],
        metadata={
            "description": f"An absolute http(s) URL of RFC 3986 characters, at most {MAX_URL_LENGTH} characters."
        },
    )
    tweetText = fields.String(required=True, validate=validate.Length(max=5000))
    authorUsername = fields.String(
        load_default=None,
        allow_none=True,
        validate=Pattern(USERNAME, "An X username: letters, digits and underscores, without the @."),
    )
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
        if not isinstance(original, dict):
            return  # not an object: marshmallow says so, and nothing more is worth saying
        given = original.get("authorUsername", ...)
        if data.get("source", SOURCES[0]) == "archive" or given not in (None, ...):
            return  # a given author is checked by its field
        message = "Field may not be null." if given is None else "Missing data for required field."
        raise ValidationError(message, "authorUsername")


class CaptureBatch(Strict):
    """Batch capture body: 1 to 100 items, each validated like a single capture's body, on its own, later.

    So the batch itself checks only its length: an item that is not a valid capture (not even an
    object) is a result of its own (`invalid` with its errors), never a 400 for the batch.
    """

    tweets = fields.List(
        fields.Raw(
            allow_none=True,
            metadata={"description": "A capture body (TweetCapture); anything else is an `invalid` result."},
        ),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH_ITEMS),
    )


MAX_LOOKUP_IDS = 500
MAX_PAGE = 1000


class LookupRequest(Strict):
    """Lookup body: 1 to 500 tweet ids (repeats allowed; each is answered once)."""

    tweetIds = fields.List(tweet_id_field(), required=True, validate=validate.Length(min=1, max=MAX_LOOKUP_IDS))


class ListQuery(Strict):
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


class UnlikeRequest(Strict):
    """Unlike body: the tweet the user took the like back from."""

    tweetId = tweet_id_field(required=True)


MAX_REPUBLISH_IDS = 500
MAX_QUEUE_PAGE = 500
QUEUE_STATUSES = ("pending", "retrying", "failed")
_CURSOR = {
    "validate": validate.Length(min=1, max=512),
    "metadata": {"description": "The `nextCursor` of the previous answer; absent for the first."},
}


class RepublishRequest(Strict):
    """Republish body: `tweetIds` (1 to 500), or `since` with the previous answer's `cursor`."""

    openapi: ClassVar[dict[str, Any]] = {"oneOf": [{"required": ["tweetIds"]}, {"required": ["since"]}]}

    tweetIds = fields.List(
        tweet_id_field(), validate=validate.Length(min=1, max=MAX_REPUBLISH_IDS), metadata={"description": "1 to 500."}
    )
    since = IsoTimestamp(
        metadata={"description": "Captures created at or after this time (UTC when no offset), oldest first."}
    )
    cursor = fields.String(load_default=None, allow_none=True, **_CURSOR)

    @validates_schema(skip_on_field_errors=True)
    def _ids_or_since(self, data: dict[str, Any], **_: Any) -> None:
        if ("tweetIds" in data) == ("since" in data):
            raise ValidationError("Send either tweetIds or since, not both.", "tweetIds")
        if data["cursor"] is not None and "since" not in data:
            raise ValidationError("A cursor goes with since.", "cursor")


class QueueQuery(Strict):
    """The queue view's query string: which items, how many, and the cursor of the previous page."""

    status = fields.String(
        load_default=None,
        validate=validate.OneOf(QUEUE_STATUSES),
        metadata={"description": "Only items in this state: pending, retrying or failed (default all)."},
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=MAX_QUEUE_PAGE),
        metadata={"description": "Items per page, 1 to 500 (default 100)."},
    )
    cursor = fields.String(load_default=None, **_CURSOR)


class QueueRetryRequest(Strict):
    """Queue retry body: `tweetIds` (1 to 500) to retry only their failed items, or `{}` for every failed item.

    Unknown fields are refused here: a misspelt `tweetIds` must not retry every failed item.
    """

    class Meta:  # noqa: D106
        unknown = RAISE

    tweetIds = fields.List(
        tweet_id_field(), validate=validate.Length(min=1, max=MAX_REPUBLISH_IDS), metadata={"description": "1 to 500."}
    )
