"""EncodedBatch builds exactly the Write messages the library's WriteBatch builds, for every write we make."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.batch import WriteBatch
from google.cloud.firestore_v1.types import write

from devtools.samples import tweet_body
from shared.tweets import capture, writes
from shared.tweets.outbox import Event, like_event
from shared.tweets.publish import UNLIKED

NOW = datetime(2026, 11, 19, 10, 30, 0, 123456, tzinfo=UTC)
UPDATED = DatetimeWithNanoseconds(2026, 11, 19, 10, 30, 1, 654321, tzinfo=UTC)  # a snapshot's update_time


@pytest.fixture(name="db", scope="module")
def _db() -> firestore.Client:
    return firestore.Client(project="demo-writes", credentials=AnonymousCredentials())


def _pbs(batch: WriteBatch) -> list[Any]:
    return [w if isinstance(w, write.Write.pb()) else write.Write.pb(w) for w in batch._write_pbs]


def _same(db: firestore.Client, build: Callable[[Any], None]) -> list[Any]:
    """Build with both batches; the messages must be equal, and the ones we built raw (not the library's)."""
    library, encoded = WriteBatch(db), writes.EncodedBatch(db)
    build(library)
    build(encoded)
    assert _pbs(encoded) == _pbs(library)
    return encoded._write_pbs


def _ref(db: firestore.Client, collection: str = "tweets") -> Any:
    return db.collection(collection).document("u1_1234567890123456789")


def test_a_new_capture_and_its_queue_item(db: firestore.Client) -> None:
    tweet = tweet_body(parentTweetId=None, isThread=False)
    event = like_event("u1", tweet, 0, NOW)
    built = _same(
        db,
        lambda batch: (
            batch.create(_ref(db), capture._tweet_document("u1", tweet, 7)),
            batch.create(_ref(db, "queue"), event.queue_item(NOW)),
        ),
    )
    assert all(isinstance(pb, write.Write.pb()) for pb in built)


def test_a_relike_conditioned_on_the_version_read(db: firestore.Client) -> None:
    option, relike = db.write_option(last_update_time=UPDATED), capture._relike(tweet_body(), 2, {})
    built = _same(db, lambda batch: batch.update(_ref(db), relike, option=option))
    assert built[0].current_document.update_time.nanos == 654321000


def test_a_relike_before_the_first_like_was_delivered_keeps_its_body(db: firestore.Client) -> None:
    first, again = tweet_body(tweetText="as first liked"), tweet_body(tweetText="as liked again")
    pending = capture._relike(again, 2, {"rawData": first, "deliveries": {}})
    delivered = capture._relike(again, 2, {"rawData": first, "deliveries": {"0": "m0", "1": "m1"}})
    kept = capture._relike(again, 4, {"rawData": again, "firstLikeData": first, "deliveries": {"1": "m1"}})
    assert pending["firstLikeData"] == first and pending["rawData"] == again
    assert "firstLikeData" not in delivered and "firstLikeData" not in kept  # never overwritten once kept
    _same(db, lambda batch: batch.update(_ref(db), pending, option=db.write_option(last_update_time=UPDATED)))


@pytest.mark.parametrize("event", ["liked", UNLIKED])
def test_a_settled_event(db: firestore.Client, event: str) -> None:
    from shared.tweets.outbox import add_settled

    settled = Event("u1", "1234567890123456789", event, 3, {"tweetId": "1234567890123456789"}, "archive", "2026-11-19")
    _same(db, lambda batch: add_settled(db, batch, settled, "message-1", NOW))


def test_deletes(db: firestore.Client) -> None:
    _same(db, lambda batch: batch.delete(_ref(db, "queue")))
    _same(db, lambda batch: batch.delete(_ref(db), option=db.write_option(last_update_time=UPDATED)))


def test_a_failed_publish_and_an_unlike(db: firestore.Client) -> None:
    _same(
        db,
        lambda batch: (
            batch.update(_ref(db, "queue"), {"nextAttemptAt": NOW, "errorMessage": "Unavailable: x", "updatedAt": NOW}),
            batch.update(
                _ref(db),
                {"unlikedAt": NOW + timedelta(seconds=1), "likeSeq": 1},
                option=db.write_option(last_update_time=UPDATED),
            ),
        ),
    )


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, -(2**63), 2**63 - 1, 1.5, "", "é \U0001d54f", [], [1, None], {}, {"a": {"b": [True]}}],
    ids=repr,
)
def test_plain_values(db: firestore.Client, value: Any) -> None:
    _same(db, lambda batch: batch.create(_ref(db), {"value": value, "at": NOW, "stamp": firestore.SERVER_TIMESTAMP}))


def test_datetimes_in_other_zones_and_repeated_hours(db: firestore.Client) -> None:
    """A UTC stamp is cached; a local time in the hour a zone repeats must not be taken for its twin."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    first, second = (datetime(2026, 11, 1, 1, 30, tzinfo=zone, fold=fold) for fold in (0, 1))
    for value in (first, second, first.astimezone(UTC)):
        built = _same(db, lambda batch, value=value: batch.create(_ref(db), {"at": value}))
        assert built[0].update.fields["at"].timestamp_value.seconds == int(value.timestamp())


def test_an_empty_field_name_is_refused_as_the_library_refuses_it(db: firestore.Client) -> None:
    for data in ({"": 1}, {"a": {"": 1}}):
        with pytest.raises(ValueError):
            writes.EncodedBatch(db).create(_ref(db), data)
        with pytest.raises(ValueError):
            WriteBatch(db).create(_ref(db), data)


def test_what_it_does_not_encode_goes_to_the_library(db: firestore.Client) -> None:
    """Increments, array transforms, nested sentinels, naive datetimes: the library's own messages."""
    naive = datetime(2026, 1, 1)
    for data in (
        {"count": firestore.Increment(2)},
        {"tags": firestore.ArrayUnion(["a"])},
        {"nested": {"at": firestore.SERVER_TIMESTAMP}},
        {"when": naive},
    ):
        _same(db, lambda batch, data=data: batch.create(_ref(db), data))
        _same(db, lambda batch, data=data: batch.update(_ref(db), data))


def _requests_alike(db: firestore.Client, build: Callable[[Any], None]) -> Any:
    """Build with both batches; the commit requests they would send must be equal (ours handed over wrapped)."""
    from google.cloud.firestore_v1.types import firestore as requests

    library, encoded = WriteBatch(db), writes.EncodedBatch(db)
    build(library)
    build(encoded)
    (expected, _), (built, _) = library._prep_commit(None, None), encoded._prep_commit(None, None)
    assert isinstance(built, requests.CommitRequest)
    built_pb = requests.CommitRequest.pb(built)
    assert built_pb == requests.CommitRequest.pb(requests.CommitRequest(expected))
    return built_pb


@pytest.mark.parametrize("with_library_writes", [False, True])
def test_the_commit_request_is_the_one_the_library_would_send(db: firestore.Client, with_library_writes: bool) -> None:
    """The request handed to the generated client: the same database and writes, in order, as one message."""
    tweet = tweet_body()

    def build(batch: Any) -> None:
        batch.create(_ref(db), capture._tweet_document("u1", tweet, 0))
        if with_library_writes:
            batch.set(_ref(db, "rate_limits"), {"count": firestore.Increment(1)}, merge=True)
            batch.update(_ref(db, "queue"), {"nested": {"at": firestore.SERVER_TIMESTAMP}})
        batch.update(_ref(db), {"deliveries.`0`": "m0", "publishedAt": NOW})
        batch.delete(_ref(db, "queue"))

    assert len(_requests_alike(db, build).writes) == (5 if with_library_writes else 3)


def test_a_write_the_library_builds_takes_its_place_in_the_request(db: firestore.Client) -> None:
    """A create that falls back to the library (an increment) sits between two built here, in order."""
    built = _requests_alike(
        db,
        lambda batch: (
            batch.create(_ref(db), {"n": 1}),
            batch.create(_ref(db, "counters"), {"count": firestore.Increment(1)}),
            batch.delete(_ref(db, "queue")),
        ),
    )
    assert [w.WhichOneof("operation") for w in built.writes] == ["update", "update", "delete"]
    assert built.writes[1].update_transforms[0].increment.integer_value == 1


@pytest.mark.parametrize("refused", [{"n": 2**70}, {"a..b": 1}], ids=["int past 64 bits", "bad field path"])
def test_a_write_that_raised_leaves_nothing_behind(db: firestore.Client, refused: dict[str, Any]) -> None:
    """A write that raises (as the library's does) leaves the batch clean for the writes after it."""

    def build(batch: Any) -> None:
        with pytest.raises(ValueError):
            (batch.create if "n" in refused else batch.update)(_ref(db), refused)
        batch.create(_ref(db, "counters"), {"count": firestore.Increment(1)})  # the library's
        batch.create(_ref(db, "queue"), {"n": 1})

    built = _requests_alike(db, build)
    assert len(built.writes) == 2 and built.writes[0].update_transforms[0].increment.integer_value == 1
