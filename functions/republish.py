"""POST /api/tweets/republish — send captures' current state to the topic again (`replay: "true"`)."""

from datetime import UTC, datetime

import flask
import functions_framework

from shared import clients, errors
from shared.config import get_settings
from shared.logs import log
from shared.tweets import republish as replays
from shared.tweets.budget import CaptureBudget
from shared.tweets.likes import BadCursor, Cursor
from shared.tweets.publish import PubSubPublisher
from shared.tweets.read_budget import ReadBudget, admit_read
from shared.tweets.schemas import RepublishRequest
from shared.web.edge import authenticated_user, client_address, endpoint, json_response, load, read_json

_schema = RepublishRequest()


@functions_framework.http
@endpoint("republish")
def republish(request: flask.Request) -> flask.Response:
    """200 with republished, queued, absent and nextCursor; 400 bad ids, since or cursor; 429 over the budget."""
    settings = get_settings()
    user_id = authenticated_user(request)
    body = load(_schema, read_json(request))
    db, key, now = clients.firestore_client(), settings.require_jwt_secret(), datetime.now(UTC)
    reads = ReadBudget(settings.read_limit_per_minute, settings.daily_read_limit)
    if "tweetIds" in body:
        tweet_ids = list(dict.fromkeys(body["tweetIds"]))
        admit_read(db, user_id, len(tweet_ids), reads, now).spend(db, len(tweet_ids))
        tweets, absent = replays.captures_by_id(db, user_id, tweet_ids)
        following = None
    else:
        try:
            cursor = Cursor.decode(body["cursor"], user_id, key) if body["cursor"] else None
        except BadCursor:
            raise errors.ValidationFailed(
                {"cursor": ["Not a cursor republish gave you; start again without one."]}
            ) from None
        since = datetime.fromisoformat(body["since"])
        reading = admit_read(db, user_id, replays.PAGE_SIZE + 1, reads, now)
        tweets, following = replays.captures_since(db, user_id, since.replace(tzinfo=since.tzinfo or UTC), cursor)
        reading.spend(db, len(tweets) + (following is not None))
        absent = []
    budget = CaptureBudget("capture-batch", settings.batch_rate_limit_per_minute, settings.daily_capture_limit)
    publisher = PubSubPublisher.for_settings(clients.PUBLISHER, settings)
    done = replays.republish(db, publisher, user_id, tweets, budget, now)
    count = done.republished + done.queued
    log("INFO", "republish", event="republish", userId=user_id, clientAddress=client_address(request), count=count)
    return json_response(
        {
            "republished": done.republished,
            "queued": done.queued,
            "absent": absent,
            "nextCursor": following.encode(user_id, key) if following else None,
        }
    )
