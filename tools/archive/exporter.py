"""Export every capture: page through `GET /api/tweets` into NDJSON, and optionally into a like.js."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tools.archive.client import Api, ApiError
from tools.archive.files import AtomicFile
from tools.archive.likes import like_js_element, to_like
from tools.archive.progress import Progress

PAGE_SIZE = 1000


@dataclass
class ExportCounts:
    """What an export wrote."""

    captures: int = 0
    likes: int = 0
    pages: int = 0
    seconds: float = 0.0


def export_captures(
    api: Api, ndjson_path: Path, like_js_path: Path | None = None, *, progress_stream: IO[str] | None = None
) -> ExportCounts:
    """Write every capture of the user to NDJSON_PATH (one listing item a line) and, if asked, a like.js.

    The like.js holds every capture, unliked ones too, as the contract asks (export →
    import into an empty deployment recreates the same set of captured ids), in the
    archive's own format, texts escaped as the archive escapes them, so
    `import` reads it back to the same ids and texts. Both files appear only once
    complete.
    """
    counts = ExportCounts()
    started = time.monotonic()
    progress = Progress("exporting", 0, progress_stream)
    api.on_wait = lambda why, seconds: progress.note(f"{why} {seconds:.0f} s")
    with ExitStack() as files:
        out = files.enter_context(AtomicFile(ndjson_path))
        like_js = files.enter_context(AtomicFile(like_js_path)) if like_js_path else None
        if like_js:
            like_js.write("window.YTD.like.part0 = [\n")
        for items in api.pages("/api/tweets", "tweets", {"limit": PAGE_SIZE}):
            counts.pages += 1
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("tweetId"), str):
                    raise ApiError("GET /api/tweets answered an item without a tweetId")
                out.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
                counts.captures += 1
                if like_js:
                    like_js.write(
                        (",\n" if counts.likes else "")
                        + like_js_element(to_like(item["tweetId"], item.get("tweet") or {}))
                    )
                    counts.likes += 1
            progress.advance(len(items))
        if like_js:
            like_js.write("\n]\n")
    progress.finish()
    counts.seconds = time.monotonic() - started
    return counts
