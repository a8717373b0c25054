"""Hostile requests to every HTTP endpoint: always a 4xx problem (or the documented 2xx), never a 5xx.

The edge's reading of bodies, fields, tokens and headers is tried case by case on bare
requests in tests/unit/test_edge.py; here each endpoint declared in shared.web.endpoints
gets one smoke test that it is wired to it, as its own function and through the `api`
router, plus the Unicode that must reach Firestore and bcrypt intact.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.accounts import tokens
from shared.web.endpoints import Endpoint
from tests.support import (
    ABUSIVE_HEADERS,
    HTTP_ENDPOINTS,
    JWT_KEY,
    STRONG_PASSWORD,
    assert_problem,
    endpoint_id,
    function_client,
    new_email,
    tweet_body,
    valid_body,
    ways_in,
)

# Every endpoint served by a function of its own (the `api` router serves them all again).
OWN_FUNCTIONS = [e for e in HTTP_ENDPOINTS if e.entry_point]


def _access_token() -> str:
    """A valid access token for a user id that needs no account: these endpoints only check the signature."""
    return tokens.create_access_token(uuid.uuid4().hex, JWT_KEY, datetime.now(UTC), 3600)


def assert_answered(response: Any) -> None:
    """Either a documented success (2xx, JSON or empty) or a 4xx problem: never a 5xx."""
    if 200 <= response.status_code < 300:
        assert response.status_code == 204 or response.mimetype == "application/json"
        return
    assert_problem(response)


def _hostile_posts(endpoint: Endpoint, auth: dict[str, str]) -> list[tuple[str, dict[str, Any], int | None]]:
    """(what, request keyword arguments, expected status or None for "answered") for an endpoint with a body."""
    valid = valid_body(endpoint.entry_point or "")
    over_limit = json.dumps({**valid, "padding": "x" * endpoint.max_body}).encode()
    return [
        ("not an object", {"data": b"[]", "content_type": "application/json", "headers": auth}, 400),
        ("cut off", {"data": b'{"a": ', "content_type": "application/json", "headers": auth}, 400),
        ("not sent as JSON", {"data": json.dumps(valid), "content_type": "text/plain", "headers": auth}, 415),
        ("over its own limit", {"data": over_limit, "content_type": "application/json", "headers": auth}, 413),
        ("fields of null", {"json": dict.fromkeys(valid), "headers": auth}, 400),
        ("abusive headers", {"json": valid, "headers": [*auth.items(), *ABUSIVE_HEADERS]}, None),
    ]


def _hostile_gets(auth: dict[str, str]) -> list[tuple[str, dict[str, Any], int | None]]:
    """Hostile extras a GET endpoint ignores: garbage query, a JSON body, broken trace headers."""
    extras = {"X-Cloud-Trace-Context": "../../;o=9" * 50, "traceparent": "ff-" * 100}
    return [
        ("query garbage", {"query_string": "a=%ZZ&b=\xff&" + "c=1&" * 2000, "headers": auth}, 200),
        ("a body", {"data": b'{"x": ' * 1000, "content_type": "application/json", "headers": {**auth, **extras}}, 200),
    ]


@pytest.mark.parametrize("endpoint", OWN_FUNCTIONS, ids=endpoint_id)
def test_every_endpoint_reads_its_request_through_the_edge(endpoint: Endpoint) -> None:
    """Bad bodies, sizes, types, fields, tokens and headers get the edge's 4xx problem, never a 5xx, both ways in."""
    auth = {"Authorization": f"Bearer {_access_token()}"} if endpoint.bearer else {}
    cases = _hostile_gets(auth) if "GET" in endpoint.methods else _hostile_posts(endpoint, auth)
    if endpoint.bearer:
        cases.append(("junk token", {"headers": {"Authorization": "Bearer not.a.jwt"}}, 401))
    method = endpoint.methods[0]
    for target, path in ways_in(endpoint):
        for what, request, status in cases:
            response = function_client(target).open(path, method=method, **request)
            if status is None or (endpoint.entry_point == "health" and response.status_code == 503):
                assert_answered(response)  # health may say 503 when a loaded machine slows its first check
            elif status < 300:
                assert response.status_code == status, (target, what, response.get_data(as_text=True)[:300])
            else:
                assert_problem(response, status)
            if status == 401:
                assert response.headers["WWW-Authenticate"].startswith('Bearer realm="tweet-capture-api"')


# --- Unicode that is valid text: it reaches Firestore, Pub/Sub and bcrypt intact ------------------

UNICODE_TEXT = {
    "rtl-marks": "\u200fmixed \u202eRTL\u202c text",
    "nul": "before\u0000after",
    "emoji": "\U0001f600\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "zero-width": "zero\u200bwidth\ufeff",
    "control": "\u0001\u0007\u001b[31m",
    "non-bmp": "\U00010348\U0010fffd",
}


def test_an_accented_email_registers_in_composed_form() -> None:
    """Combining accents are valid once NFKC composes them: 201 with the composed, lower-cased address."""
    local = f"U\u0301ser-{uuid.uuid4().hex[:8]}"
    response = function_client("register").post(
        "/", json={"email": f"{local}@Exa\u0301mple.com", "password": STRONG_PASSWORD}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["email"] == f"\u00faser-{local[-8:]}@ex\u00e1mple.com"


@pytest.mark.parametrize("text", UNICODE_TEXT.values(), ids=UNICODE_TEXT.keys())
def test_unicode_tweet_text_and_names_are_captured(text: str) -> None:
    """Valid Unicode (RTL marks, NUL, emoji, zero-width, controls) in free text is stored and published: 200.

    Free text is the tweet and the display name; the username is only what X allows (see test_untrusted_fields).
    """
    body = tweet_body(tweetText=text, authorDisplayName=text)
    response = function_client("capture").post("/", json=body, headers={"Authorization": f"Bearer {_access_token()}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "published"


@pytest.mark.parametrize("password", UNICODE_TEXT.values(), ids=UNICODE_TEXT.keys())
def test_unicode_passwords_register_when_strong(password: str) -> None:
    """Any Unicode password with the required letters and digit that fits 72 bytes registers: 201."""
    response = function_client("register").post("/", json={"email": new_email(), "password": f"Aa1{password}xxxxx"})
    assert response.status_code == 201, response.get_data(as_text=True)
