"""The owner's controls from a checkout: republish captures since a date, and the queue view with its retry.

`republish` pages through `POST /api/tweets/republish` with a progress bar and keeps
the last cursor in a small state file after every page, so an interrupted run
(Ctrl-C, a lost network, a spent budget) resumes where it stopped when the same
command runs again; the file goes once the last page is sent. Sending a page
again is harmless: a replayed message may arrive twice, as any message may.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tools.archive.client import Api, ApiError
from tools.archive.progress import Progress

QUEUE_PAGE = 500


@dataclass
class RepublishCounts:
    """What a republish run sent."""

    republished: int = 0
    queued: int = 0
    resumed: bool = False


def state_file(since: str, directory: Path) -> Path:
    """Where a republish since SINCE keeps its cursor between runs."""
    return directory / f".republish-{''.join(c if c.isalnum() else '-' for c in since)}.cursor"


def republish_since(
    api: Api, since: str, state: Path, *, progress_stream: IO[str] | None = None, counts: RepublishCounts | None = None
) -> RepublishCounts:
    """Send every capture created at or after SINCE again, 500 a request, resuming from STATE when it exists."""
    counts = counts or RepublishCounts()
    cursor = state.read_text().strip() if state.exists() else None
    counts.resumed = bool(cursor)
    progress = Progress("republishing", 0, progress_stream)
    api.on_wait = lambda why, seconds: progress.note(f"{why} {seconds:.0f} s")
    while True:
        body: dict[str, Any] = {"since": since, **({"cursor": cursor} if cursor else {})}
        answer, _headers = api.post("/api/tweets/republish", body)
        if not isinstance(answer.get("republished"), int) or not isinstance(answer.get("queued"), int):
            raise ApiError("POST /api/tweets/republish answered without its counts")
        counts.republished += answer["republished"]
        counts.queued += answer["queued"]
        progress.advance(answer["republished"] + answer["queued"])
        cursor = answer.get("nextCursor")
        if not cursor:
            break
        state.write_text(cursor + "\n")
    state.unlink(missing_ok=True)
    progress.finish()
    return counts


def queue_items(api: Api, status: str | None = None) -> list[dict[str, Any]]:
    """Every queue item of the user (in STATUS, when given), oldest first."""
    query: dict[str, str | int] = {"limit": QUEUE_PAGE, **({"status": status} if status else {})}
    return [item for page in api.pages("/api/queue", "items", query) for item in page]


def queue_lines(items: list[dict[str, Any]]) -> list[str]:
    """The queue view as text: one line per item, then a count of each status."""
    lines = [
        f"{item.get('tweetId')}  {item.get('event')}#{item.get('sequence')}{' (replay)' if item.get('replay') else ''}"
        f"  {item.get('status')}  attempts {item.get('attempts')}"
        f"  next {item.get('nextAttemptAt') or '-'}  {json.dumps(item.get('lastError'))[:200]}"
        for item in items
    ]
    counts = {
        status: sum(item.get("status") == status for item in items) for status in ("pending", "retrying", "failed")
    }
    lines.append(f"{len(items):,} not on the topic yet: " + ", ".join(f"{n:,} {s}" for s, n in counts.items()))
    return lines


def retry_failed(api: Api) -> int:
    """Every failed item of the user pending again; how many."""
    answer, _headers = api.post("/api/queue/retry", {})
    if not isinstance(answer.get("retried"), int):
        raise ApiError("POST /api/queue/retry answered without a count")
    return answer["retried"]
