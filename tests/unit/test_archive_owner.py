"""The archive tool's republish and queue commands against a fake of its own Api: paging, resuming, the view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools.archive.client import Api, ApiError
from tools.archive.owner import queue_items, queue_lines, republish_since, retry_failed, state_file


class FakeApi:
    """Plays back answers per path and records each request; raises ApiError where the script says so."""

    def __init__(self, answers: dict[str, list[Any]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, Any]] = []
        self.on_wait = None

    def post(self, path: str, body: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """The next answer for PATH."""
        self.requests.append((path, body))
        return self._next(path), {}

    def get(self, path: str, query: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
        """The next answer for PATH."""
        self.requests.append((path, query))
        return self._next(path), {}

    pages = Api.pages  # the real paging, over the fake's get

    def _next(self, path: str) -> dict[str, Any]:
        answer = self.answers[path].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _page(republished: int, cursor: str | None) -> dict[str, Any]:
    return {"republished": republished, "queued": 0, "absent": [], "nextCursor": cursor}


def test_republish_pages_until_the_cursor_is_null_and_forgets_its_state(tmp_path: Path) -> None:
    """Each answer's cursor is sent back with the same since; the state file is gone at the end."""
    api = FakeApi({"/api/tweets/republish": [_page(500, "c1"), _page(500, "c2"), _page(7, None)]})
    state = state_file("2025-01-01", tmp_path)
    counts = republish_since(api, "2025-01-01", state)  # type: ignore[arg-type]
    assert (counts.republished, counts.queued, counts.resumed) == (1007, 0, False)
    assert [body for _, body in api.requests] == [
        {"since": "2025-01-01"},
        {"since": "2025-01-01", "cursor": "c1"},
        {"since": "2025-01-01", "cursor": "c2"},
    ]
    assert not state.exists()


def test_an_interrupted_republish_resumes_from_the_last_cursor(tmp_path: Path) -> None:
    """A failure after the first page leaves its cursor; the next run starts there."""
    state = state_file("2025-01-01T00:00:00Z", tmp_path)
    failing = FakeApi({"/api/tweets/republish": [_page(500, "c1"), ApiError("429 Too Many Requests", 429)]})
    with pytest.raises(ApiError):
        republish_since(failing, "2025-01-01T00:00:00Z", state)  # type: ignore[arg-type]
    assert state.read_text().strip() == "c1"
    again = FakeApi({"/api/tweets/republish": [_page(3, None)]})
    counts = republish_since(again, "2025-01-01T00:00:00Z", state)  # type: ignore[arg-type]
    assert counts.resumed and counts.republished == 3
    assert again.requests == [("/api/tweets/republish", {"since": "2025-01-01T00:00:00Z", "cursor": "c1"})]
    assert not state.exists()


def test_the_queue_view_pages_through_and_counts_each_state() -> None:
    """Every page of the queue is read; the view has a line per item and a count of each status."""
    item = {"tweetId": "1", "event": "liked", "sequence": 0, "replay": False, "status": "failed", "attempts": 5,
            "lastError": "ServiceUnavailable", "nextAttemptAt": None, "createdAt": "2025-01-01T00:00:00Z"}  # fmt: skip
    pages = [
        {"items": [item], "nextCursor": "q1"},
        {"items": [{**item, "tweetId": "2", "status": "pending"}], "nextCursor": None},
    ]
    api = FakeApi({"/api/queue": pages})
    items = queue_items(api, "failed")  # type: ignore[arg-type]
    assert [i["tweetId"] for i in items] == ["1", "2"]
    assert api.requests[1] == ("/api/queue", {"limit": 500, "status": "failed", "cursor": "q1"})
    lines = queue_lines(items)
    assert lines[0].startswith("1  liked#0  failed  attempts 5  next -  ") and "ServiceUnavailable" in lines[0]
    assert lines[-1] == "2 not on the topic yet: 1 pending, 0 retrying, 1 failed"


def test_retry_failed_posts_an_empty_body() -> None:
    """--retry-failed asks for every failed item, and reports the count."""
    api = FakeApi({"/api/queue/retry": [{"retried": 4}]})
    assert retry_failed(api) == 4  # type: ignore[arg-type]
    assert api.requests == [("/api/queue/retry", {})]
