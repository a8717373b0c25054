"""The entry points under measurement: their first requests, the accounts those need, their baselines."""

from __future__ import annotations

from devtools.bench.bulk import GENEROUS
from devtools.bench.context import ORIGIN, Run
from devtools.bench.request import RequestSpec, tick_event
from devtools.opscenarios import PASSWORD
from devtools.samples import new_email, tweet_body
from shared.web.endpoints import BY_ENTRY_POINT

COLD_TARGET_MS = 150.0  # a cold start may take this much longer than importing its client libraries
# Which client libraries a function needs, for the import baseline its cold start is held to.
NEEDS_PUBSUB = frozenset({"capture", "capture_batch", "unlike", "republish", "health", "retry_queue", "api"})


def baseline_of(target: str) -> str:
    """The name of the import baseline `target`'s cold start is compared with."""
    return "firestore+pubsub" if target in NEEDS_PUBSUB else "firestore"


def prepare_tokens(run: Run) -> None:
    """Accounts and tokens for the cold-start requests, made by a separate register process."""
    plan = run.plan
    first = run.register_account()
    run.tokens.login_email = first["email"]
    run.tokens.refresh_token = first["refreshToken"]
    run.tokens.access_token = first["accessToken"]
    count = plan.cold_runs * (1 + plan.warm_after_cold)
    run.tokens.logout_tokens = [run.register_account()["refreshToken"] for _ in range(count)]
    run.tokens.refresh_tokens = [run.register_account()["refreshToken"] for _ in range(count)]


def first_request(run: Run, target: str) -> RequestSpec:
    """A fresh first request for `target` that must succeed."""
    tokens = run.tokens
    if target == "register":
        return RequestSpec.json_post({"email": new_email(), "password": PASSWORD}, 201)
    if target == "login":
        return RequestSpec.json_post({"email": tokens.login_email, "password": PASSWORD}, 200)
    if target == "refresh":
        return RequestSpec.json_post({"refreshToken": tokens.refresh_tokens.pop()}, 200)
    if target == "logout":
        return RequestSpec.json_post({"refreshToken": tokens.logout_tokens.pop()}, 204)
    if target in {"capture", "api"}:
        path = BY_ENTRY_POINT["capture"].path if target == "api" else "/"
        return RequestSpec.json_post(tweet_body(), 200, path=path, token=tokens.access_token, status="published")
    if target == "capture_batch":
        return RequestSpec.json_post({"tweets": [tweet_body() for _ in range(10)]}, 200, token=tokens.access_token)
    if target == "lookup":
        return RequestSpec.json_post({"tweetIds": [tweet_body()["tweetId"]]}, 200, token=tokens.access_token)
    if target == "unlike":  # a tweet never captured: a 404 that has gone through token, body and Firestore
        return RequestSpec.json_post({"tweetId": tweet_body()["tweetId"]}, 404, token=tokens.access_token)
    if target == "republish":  # a tweet never captured: absent, after token, body, budgets and one read
        return RequestSpec.json_post({"tweetIds": [tweet_body()["tweetId"]]}, 200, token=tokens.access_token)
    if target == "queue_retry":
        return RequestSpec.json_post({}, 200, token=tokens.access_token)
    if target in {"list_tweets", "queue_status"}:
        auth = {"Origin": ORIGIN, "Authorization": f"Bearer {tokens.access_token}"}
        return RequestSpec("GET", "/?limit=10", auth, "", 200, {})
    if target == "health":
        return RequestSpec("GET", "/", {"Origin": ORIGIN}, "", 200, {"status": "healthy"})
    if target == "retry_queue":
        headers, body = tick_event()
        return RequestSpec("POST", "/", headers, body, 200)
    raise ValueError(target)


def cold_env(run: Run, target: str) -> dict[str, str]:
    """Cold-start settings: cheap bcrypt, so the first request measures start-up and not hashing; no budget refuses."""
    return run.env(target, BCRYPT_ROUNDS="4", **GENEROUS)
