"""Each paged view signs its own cursors: one view's cursor is a 400 at another, never a wrong page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import assert_problem, function_client, pubsub_down, register, tweet_body


def _auth(user: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {user['accessToken']}"}


def _listing(user: dict[str, Any], cursor: str | None = None) -> Any:
    query = {"limit": 1, **({"cursor": cursor} if cursor else {})}
    return function_client("list_tweets").get("/", query_string=query, headers=_auth(user))


def _queue(user: dict[str, Any], cursor: str | None = None) -> Any:
    query = {"limit": 1, **({"cursor": cursor} if cursor else {})}
    return function_client("queue_status").get("/", query_string=query, headers=_auth(user))


def _republish(user: dict[str, Any], cursor: str | None = None) -> Any:
    body = {"since": "2020-01-01T00:00:00Z", **({"cursor": cursor} if cursor else {})}
    return function_client("republish").post("/", json=body, headers=_auth(user))


VIEWS = {"listing": _listing, "queue": _queue, "republish": _republish}


@pytest.fixture(name="cursors")
def _cursors(setenv: Callable[..., None]) -> tuple[dict[str, Any], dict[str, str]]:
    """A user with two queued captures, and a first-page cursor of each view (republish: one capture a page)."""
    user = register()
    with pubsub_down(setenv):
        for tweet in (tweet_body(), tweet_body()):
            assert function_client("capture").post("/", json=tweet, headers=_auth(user)).status_code == 200
    setenv(BATCH_RATE_LIMIT_PER_MINUTE="1")  # a page by date holds what the budget has room for: one
    cursors = {}
    for name, view in VIEWS.items():
        answer = view(user)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        cursors[name] = answer.get_json()["nextCursor"]
        assert cursors[name]
    return user, cursors


@pytest.mark.parametrize(
    ("issued_by", "sent_to"),
    [(a, b) for a in VIEWS for b in VIEWS if a != b],
)
def test_a_cursor_from_another_view_is_a_400(
    cursors: tuple[dict[str, Any], dict[str, str]], issued_by: str, sent_to: str
) -> None:
    """A cursor handed out by one view is refused by each of the two others: 400 invalid-input naming `cursor`."""
    user, issued = cursors
    problem = assert_problem(VIEWS[sent_to](user, issued[issued_by]), 400)
    assert problem["type"] == "/problems/invalid-input" and "cursor" in problem["errors"]
    assert VIEWS[issued_by](user, issued[issued_by]).status_code in (200, 429)
