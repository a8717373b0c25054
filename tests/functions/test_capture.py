"""The capture entry point: auth, validation, the three outcomes and the message on the topic."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from shared.accounts import tokens
from shared.db import QUEUE, TWEETS
from tests.support import JWT_KEY, decode, function_client, pull, register, subscribe, tweet_body, tweet_id

PROBLEM = "application/problem+json"


@pytest.fixture(name="user")
def _user() -> dict[str, Any]:
    return register()


def _capture(token: str | None, body: Any, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kwargs.pop("headers", {}))
    return function_client("capture").post("/", json=body, headers=headers, **kwargs)


def _token(**claims: Any) -> str:
    now = datetime.now(UTC)
    base = {"sub": "someone", "iat": now, "exp": now + timedelta(minutes=5), "jti": "j", "type": "access",
            "iss": "tweet-capture-api", "aud": "tweet-capture-api"}  # fmt: skip
    base.update(claims)
    return jwt.encode(base, claims.pop("key", JWT_KEY) if "key" in claims else JWT_KEY, algorithm="HS256")


def _unsigned() -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return part({"alg": "none", "typ": "JWT"}) + "." + part({"sub": "x", "type": "access"}) + "."


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not.a.jwt",
        "Bearer " + _unsigned(),
        "Bearer " + jwt.encode({"sub": "x", "type": "access"}, "wrong-key-" + "w" * 30, algorithm="HS256"),
    ],
    ids=["missing", "scheme-only", "empty-token", "basic", "malformed", "alg-none", "wrong-key"],
)
def test_unusable_credentials_are_401_with_a_bearer_challenge(authorization: str | None) -> None:
    """Missing, malformed, unsigned or foreign tokens → 401 problem with WWW-Authenticate: Bearer."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = function_client("capture").post("/", json=tweet_body(), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == PROBLEM


def test_expired_and_refresh_tokens_are_refused(user: dict[str, Any]) -> None:
    """An expired access token and a refresh token used as bearer are both 401."""
    expired = tokens.create_access_token(user["userId"], JWT_KEY, datetime.now(UTC) - timedelta(hours=2), 3600)
    for token in (expired, user["refreshToken"]):
        response = _capture(token, tweet_body())
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"tweetId": "0123", "threadId": None, "conversationId": None}, {"tweetId"}),
        ({"tweetId": "1" * 20, "conversationId": "9" * 20}, {"tweetId", "threadId", "conversationId"}),
        ({"tweetId": 1858123456789012345}, {"tweetId"}),
        ({"tweetText": "x" * 5001, "authorUsername": None}, {"tweetText", "authorUsername"}),
        ({"isReply": "yes", "hasImage": 0}, {"isReply", "hasImage"}),
        ({"timestamp": "last tuesday"}, {"timestamp"}),
        ({"capturedAt": "now"}, {"capturedAt"}),
        ({"tweetUrl": "javascript:alert(1)"}, {"tweetUrl"}),
    ],
)
def test_invalid_tweets_name_each_field(user: dict[str, Any], overrides: dict[str, Any], fields: set[str]) -> None:
    """400 problem JSON with `errors` naming exactly the bad fields."""
    response = _capture(user["accessToken"], tweet_body(**overrides))
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == fields


def test_body_over_64_kib_is_413(user: dict[str, Any]) -> None:
    """A body larger than 64 KiB is refused before parsing."""
    response = _capture(user["accessToken"], tweet_body(tweetText="x" * 70_000))
    assert response.status_code == 413 and response.mimetype == PROBLEM


def test_capture_publishes_then_reports_duplicates(user: dict[str, Any], db: Any, uid: str) -> None:
    """First capture → published with messageId; again → duplicate; the stored tweet drops unknown fields."""
    subscription = subscribe(f"cap-{uid}")
    body = tweet_body(unknownField="dropped")
    first = _capture(user["accessToken"], body)
    assert first.status_code == 200
    assert first.get_json() == {
        "status": "published",
        "tweetId": body["tweetId"],
        "messageId": first.get_json()["messageId"],
    }
    again = _capture(user["accessToken"], body)
    assert again.get_json() == {"status": "duplicate", "tweetId": body["tweetId"], "message": "Tweet already captured"}
    key = f"{user['userId']}_{body['tweetId']}"
    stored = db.collection(TWEETS).document(key).get().to_dict()
    assert stored["pubsubMessageId"] == first.get_json()["messageId"]
    assert "unknownField" not in stored["rawData"] and stored["userId"] == user["userId"]
    assert not db.collection(QUEUE).document(key).get().exists
    assert len(pull(subscription, expect=1)) == 1


def test_another_user_capturing_the_same_tweet_publishes(user: dict[str, Any]) -> None:
    """Dedup is per user: a second user's capture of the same tweet is published."""
    body = tweet_body()
    assert _capture(user["accessToken"], body).get_json()["status"] == "published"
    assert _capture(register()["accessToken"], body).get_json()["status"] == "published"


def test_message_body_and_attributes(user: dict[str, Any], uid: str) -> None:
    """The message carries {"data", "attributes"} and every contract attribute, dedupKey included."""
    subscription = subscribe(f"msg-{uid}")
    body = tweet_body(tweetId=tweet_id(), isThread=True)
    sent = dict(body)
    del sent["hasVideo"]  # defaults to false
    response = _capture(user["accessToken"], sent)
    (message,) = pull(subscription, expect=1)
    attributes = dict(message.attributes)
    assert attributes == {
        "userId": user["userId"],
        "tweetId": body["tweetId"],
        "captureDate": datetime.now(UTC).date().isoformat(),
        "source": "chrome-extension",
        "version": "1.0.0",
        "event": "liked",
        "sequence": "0",
        "dedupKey": f"{user['userId']}_{body['tweetId']}",
    }
    payload = decode(message)
    assert payload == {"data": {**body, "hasVideo": False, "source": "chrome-extension"}, "attributes": attributes}
    assert message.message_id == response.get_json()["messageId"]


def test_rate_limit_is_per_user_per_minute(setenv: Any, user: dict[str, Any]) -> None:
    """Past RATE_LIMIT_PER_MINUTE captures a user gets 429 with Retry-After; another user is unaffected."""
    setenv(RATE_LIMIT_PER_MINUTE="3")
    statuses = [_capture(user["accessToken"], tweet_body()).status_code for _ in range(4)]
    if statuses != [200, 200, 200, 429]:  # the minute turned over mid-test: one more try
        statuses = [_capture(user["accessToken"], tweet_body()).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = _capture(user["accessToken"], tweet_body())
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.mimetype == PROBLEM
    assert _capture(register()["accessToken"], tweet_body()).status_code == 200


def test_wrong_method_and_content_type(user: dict[str, Any]) -> None:
    """GET is 405; a form body is 415."""
    assert function_client("capture").get("/").status_code == 405
    response = function_client("capture").post(
        "/", data="tweetId=1", content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {user['accessToken']}"},
    )  # fmt: skip
    assert response.status_code == 415
