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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

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
PARALLEL = 2  # requests in flight: hides the round trip without crowding a small deployment
J = TypeVar("J")
R = TypeVar("R")


class BudgetExhausted(Exception):
    """The API will take no more captures for longer than the user's patience (the daily budget, say)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the API takes no more captures for {seconds / 3600:.1f} h (the account's capture budget)")
        self.seconds = seconds


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
    parallel: int = PARALLEL,
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

        def lookups() -> Iterator[list[Pending]]:
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
                    yield batch
                    batch = []
            if batch:
                yield batch

        without_lookup = [False]
        for batch, known in pipelined(lambda batch: _look_up(api, batch, without_lookup), lookups(), parallel):
            _spool_absent(batch, known, spool, counts)
            checking.advance(len(batch))
        checking.finish()
        if without_lookup[0]:
            say("note: this deployment has no /api/tweets/lookup; sending everything (the server skips what it has)")
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
            progress = Progress("importing", counts.to_send, progress_stream)
            _send(api, _spooled(spool), counts, invalid_out, progress, parallel)
    counts.seconds = time.monotonic() - started
    return counts


def pipelined(work: Callable[[J], R], jobs: Iterator[J], width: int) -> Iterator[tuple[J, R]]:
    """(job, WORK(job)) for each of JOBS in order, with up to WIDTH jobs in flight on worker threads.

    JOBS is drawn lazily, in the caller's thread, only when there is room, so it
    can react to the results already handed back (rate-limited items, say).
    """
    if width <= 1:
        for job in jobs:
            yield job, work(job)
        return
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="archive")
    in_flight: deque[tuple[J, Future[R]]] = deque()
    try:
        while True:
            while len(in_flight) < width:
                job = next(jobs, None)
                if job is None:
                    break
                in_flight.append((job, pool.submit(work, job)))
            if not in_flight:
                return
            job, future = in_flight.popleft()
            yield job, future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _look_up(api: Api, batch: list[Pending], without_lookup: list[bool]) -> dict[str, Any]:
    """Which of a batch's tweets the API holds: its `tweets` map.

    A deployment older than the lookup endpoint answers 404: then everything is
    sent, and the batch endpoint's own deduplication still captures nothing twice.
    """
    if without_lookup[0]:
        return {}
    ids = list(dict.fromkeys(item.capture["tweetId"] for item in batch))
    try:
        answer, _headers = api.post("/api/tweets/lookup", {"tweetIds": ids})
    except ApiError as exc:
        if exc.status != 404:
            raise
        without_lookup[0] = True
        return {}
    known = answer.get("tweets")
    if not isinstance(known, dict):
        raise ApiError("POST /api/tweets/lookup answered without a tweets map")
    return known


def _spool_absent(batch: list[Pending], known: dict[str, Any], spool: IO[str], counts: ImportCounts) -> None:
    """Count the captured ones of a looked-up batch; spool the others for sending."""
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


def _send(
    api: Api, items: Iterator[Pending], counts: ImportCounts, invalid_out: IO[str], progress: Progress, parallel: int
) -> None:
    """Send every item in batches; items the API rate-limits go again first, after its Retry-After."""
    api.on_wait = lambda why, seconds: progress.note(f"{why} {seconds:.0f} s")
    again: deque[Pending] = deque()
    resume_at = [0.0]  # when the API said sending may resume

    def batches() -> Iterator[list[Pending]]:
        while True:
            pause = resume_at[0] - time.monotonic()
            if pause > 0:
                progress.note(f"rate limited: waiting {pause:.0f} s as the API asked")
                api.sleep(pause)
                resume_at[0] = 0.0
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
                return
            yield batch

    sent_before = counts.sent
    # The batches run dry while rate-limited items may still come back from requests in flight: go round again.
    while True:
        for _batch, (outcomes, wait) in pipelined(lambda batch: _post_batch(api, batch), batches(), parallel):
            limited = _tally(outcomes, counts, invalid_out)
            progress.advance(len(outcomes) - len(limited))
            if limited:
                if wait > api.patience:
                    raise BudgetExhausted(wait)
                counts.rate_limited += len(limited)
                again.extend(limited)
                resume_at[0] = max(resume_at[0], time.monotonic() + wait)
        if not again:
            break
    progress.finish()
    if counts.sent - sent_before != progress.total:
        raise ApiError(
            f"{progress.total - counts.sent + sent_before:,} items got no answer; run the same command again"
        )


def _post_batch(api: Api, batch: list[Pending]) -> tuple[list[tuple[Pending, dict[str, Any]]], float]:
    """One batch request (halved and resent if the API finds it too large); each item's result, and Retry-After."""
    try:
        answer, headers = api.post("/api/tweets/capture/batch", {"tweets": [item.capture for item in batch]})
    except ApiError as exc:
        if exc.status == 413 and len(batch) > 1:
            first, wait_first = _post_batch(api, batch[: len(batch) // 2])
            second, wait_second = _post_batch(api, batch[len(batch) // 2 :])
            return first + second, max(wait_first, wait_second)
        raise
    results = answer.get("results")
    if not isinstance(results, list) or len(results) != len(batch) or not all(isinstance(r, dict) for r in results):
        raise ApiError("POST /api/tweets/capture/batch answered without one result per item")
    return list(zip(batch, results, strict=True)), retry_after(headers, 1.0)


def _tally(outcomes: list[tuple[Pending, dict[str, Any]]], counts: ImportCounts, invalid_out: IO[str]) -> list[Pending]:
    """Count a batch's results and list its invalid items; the rate-limited items, to send again."""
    limited = []
    for item, result in outcomes:
        status = result.get("status")
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
            continue
        else:
            raise ApiError(f"POST /api/tweets/capture/batch answered an unknown status {status!r}")
        counts.sent += 1
    return limited
