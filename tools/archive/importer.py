"""Import an archive's likes: check which are captured already, then send the rest in batches.

1. Check: stream the archive, map each like to a capture, and ask the API which
   ids it holds (`POST /api/tweets/lookup`, 500 ids a request). Captured ones
   count as duplicates; the others go to a spool file on disk, so memory stays
   flat whatever the archive's size.
2. Tell the user what will be sent and what it costs.
3. Send: the spool in batches of at most 100 items and ~900 kB
   (`POST /api/tweets/capture/batch`); `rate_limited` items are sent again
   after the answer's `Retry-After`.

Interrupted anywhere and run again, step 1 finds what the first run captured,
and the server deduplicates what was in flight: nothing is captured twice.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tools.archive import cost
from tools.archive.client import Api, ApiError, retry_after
from tools.archive.files import AtomicFile
from tools.archive.likes import Invalid, to_capture
from tools.archive.progress import Progress
from tools.archive.reader import open_archive

LOOKUP_SIZE = 500
BATCH_SIZE = 100
MAX_BATCH_BYTES = 900_000  # the API takes up to 1 MiB a body
NEW = frozenset({"published", "queued"})


@dataclass
class ImportCounts:
    """What an import found and did."""

    entries: int = 0
    new: int = 0
    queued: int = 0
    duplicate: int = 0
    already: int = 0
    invalid: int = 0
    to_send: int = 0
    sent: int = 0
    rate_limited: int = 0
    seconds: float = 0.0

    def line(self, invalid_path: Path) -> str:
        """The one line an import ends with."""
        queued = f" ({self.queued:,} queued for publishing)" if self.queued else ""
        return (
            f"done: {self.new:,} new{queued}, {self.duplicate:,} duplicate, {self.invalid:,} invalid"
            f" (listed in {invalid_path}) — {self.entries:,} archive entries in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class Pending:
    """A capture waiting to be sent, and where it came from in the archive."""

    part: str
    index: int
    capture: dict[str, Any]
    size: int


def import_archive(
    path: Path,
    api: Api,
    invalid_path: Path,
    *,
    say: Callable[[str], None] = print,
    progress_stream: IO[str] | None = None,
    dry_run: bool = False,
    counts: ImportCounts | None = None,
) -> ImportCounts:
    """Import the likes of the archive at PATH; list the invalid ones in INVALID_PATH."""
    counts = counts if counts is not None else ImportCounts()
    started = time.monotonic()
    with (
        open_archive(path) as archive,
        tempfile.TemporaryFile("w+", encoding="utf-8") as spool,
        AtomicFile(invalid_path) as invalid_out,
    ):
        announced = archive.expected_count()
        checking = Progress("checking", announced or 0, progress_stream)
        api.on_wait = lambda why, seconds: checking.note(f"{why} {seconds:.0f} s")
        batch: list[Pending] = []
        for entry in archive.entries():
            counts.entries += 1
            capture = to_capture(entry)
            if isinstance(capture, Invalid):
                counts.invalid += 1
                invalid_out.write(json.dumps(capture.record(), ensure_ascii=False) + "\n")
                checking.advance(1)
                continue
            batch.append(Pending(entry.part, entry.index, capture, 0))
            if len(batch) == LOOKUP_SIZE:
                _check(api, batch, spool, counts)
                checking.advance(len(batch))
                batch = []
        if batch:
            _check(api, batch, spool, counts)
            checking.advance(len(batch))
        checking.finish()
        if announced is not None and announced != counts.entries:
            say(f"note: the manifest announces {announced:,} likes, the files hold {counts.entries:,}")
        estimate = cost.estimate(counts.entries - counts.invalid, counts.to_send, BATCH_SIZE, LOOKUP_SIZE)
        say(
            f"{counts.entries:,} likes in {path.name}: {counts.already:,} already captured, {counts.invalid:,} invalid;"
            f" {counts.to_send:,} to send in ~{-(-counts.to_send // BATCH_SIZE):,} batches"
        )
        if counts.to_send:
            for line in estimate.lines():
                say(line)
        if not dry_run and counts.to_send:
            spool.seek(0)
            _send(api, _spooled(spool), counts, invalid_out, Progress("importing", counts.to_send, progress_stream))
    counts.seconds = time.monotonic() - started
    return counts


def _check(api: Api, batch: list[Pending], spool: IO[str], counts: ImportCounts) -> None:
    """Look up a batch of captures; count the captured ones, spool the others."""
    ids = list(dict.fromkeys(item.capture["tweetId"] for item in batch))
    answer, _headers = api.post("/api/tweets/lookup", {"tweetIds": ids})
    known = answer.get("tweets")
    if not isinstance(known, dict):
        raise ApiError("POST /api/tweets/lookup answered without a tweets map")
    for item in batch:
        state = known.get(item.capture["tweetId"]) or {}
        # Anything stored counts as captured: published, queued, failed (kept for replay) or unliked since.
        if state.get("status", "absent") != "absent":
            counts.already += 1
            counts.duplicate += 1
            continue
        spool.write(json.dumps([item.part, item.index, item.capture], ensure_ascii=False) + "\n")
        counts.to_send += 1


def _spooled(spool: IO[str]) -> Iterator[Pending]:
    for line in spool:
        part, index, capture = json.loads(line)
        yield Pending(part, index, capture, len(line.encode("utf-8")))


def _send(api: Api, items: Iterator[Pending], counts: ImportCounts, invalid_out: IO[str], progress: Progress) -> None:
    """Send every item in batches; items the API rate-limits go again first, after its Retry-After."""
    api.on_wait = lambda why, seconds: progress.note(f"{why} {seconds:.0f} s")
    again: deque[Pending] = deque()
    while True:
        batch, size = [], 0
        while len(batch) < BATCH_SIZE:
            item = again.popleft() if again else next(items, None)
            if item is None:
                break
            if batch and size + item.size > MAX_BATCH_BYTES:
                again.appendleft(item)
                break
            batch.append(item)
            size += item.size
        if not batch:
            break
        limited, wait = _send_batch(api, batch, counts, invalid_out)
        progress.advance(len(batch) - len(limited))
        if limited:
            counts.rate_limited += len(limited)
            again.extendleft(reversed(limited))
            progress.note(f"rate limited: {len(limited)} items wait {wait:.0f} s")
            api.sleep(wait)
    progress.finish()


def _send_batch(
    api: Api, batch: list[Pending], counts: ImportCounts, invalid_out: IO[str]
) -> tuple[list[Pending], float]:
    """One batch request; the items to send again and how long to wait first."""
    try:
        answer, headers = api.post("/api/tweets/capture/batch", {"tweets": [item.capture for item in batch]})
    except ApiError as exc:
        if exc.status == 413 and len(batch) > 1:
            half = len(batch) // 2
            first, wait_first = _send_batch(api, batch[:half], counts, invalid_out)
            second, wait_second = _send_batch(api, batch[half:], counts, invalid_out)
            return first + second, max(wait_first, wait_second)
        raise
    results = answer.get("results")
    if not isinstance(results, list) or len(results) != len(batch):
        raise ApiError("POST /api/tweets/capture/batch answered without one result per item")
    limited = []
    for item, result in zip(batch, results, strict=True):
        status = result.get("status") if isinstance(result, dict) else None
        if status in NEW:
            counts.new += 1
            counts.queued += status == "queued"
        elif status == "duplicate":
            counts.duplicate += 1
        elif status == "invalid":
            counts.invalid += 1
            errors = result.get("errors") or {"": ["Rejected by the API."]}
            rejected = Invalid(item.part, item.index, item.capture["tweetId"], errors, item.capture)
            invalid_out.write(json.dumps(rejected.record(), ensure_ascii=False) + "\n")
        elif status == "rate_limited":
            limited.append(item)
        else:
            raise ApiError(f"POST /api/tweets/capture/batch answered an unknown status {status!r}")
        counts.sent += status != "rate_limited"
    return limited, retry_after(headers, 1.0) if limited else 0.0
