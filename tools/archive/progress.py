"""A one-line progress bar on stderr (standard library: one line, redrawn, no dependency to install)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 28


class Progress:
    """`label [#####-----] done/total pct  rate/s  ETA m:ss`, redrawn in place on a terminal.

    When stderr is not a terminal (a log file, a test) it prints a plain line at
    every tenth of the way instead of redrawing.
    """

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.started = time.monotonic()
        self._drawn_at = 0.0
        self._tenth = 0
        self._note = ""

    def advance(self, count: int) -> None:
        """COUNT more items are done."""
        self.done += count
        self._note = ""
        self._draw()

    def note(self, text: str) -> None:
        """Show TEXT beside the bar until the next advance (a wait, a retry)."""
        self._note = text
        if self.interactive:
            self._draw(force=True)
        else:
            print(f"{self.label}: {text}", file=self.stream, flush=True)

    def finish(self) -> None:
        """Draw the final state and end the line."""
        if self.interactive:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def line(self) -> str:
        """The bar as text."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        if not self.total:  # the total is not known in advance
            text = f"{self.label} {self.done:,}  {rate:,.0f}/s  {clock(elapsed)}"
            return f"{text}  {self._note}" if self._note else text
        share = self.done / self.total
        filled = int(WIDTH * min(share, 1.0))
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        text = (
            f"{self.label} [{'#' * filled}{'-' * (WIDTH - filled)}] {self.done:,}/{self.total:,}"
            f" {share:4.0%}  {rate:,.0f}/s  ETA {clock(eta)}"
        )
        return f"{text}  {self._note}" if self._note else text

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.interactive:
            if force or now - self._drawn_at >= 0.1 or self.done == self.total:
                self.stream.write("\r\x1b[K" + self.line())
                self.stream.flush()
                self._drawn_at = now
            return
        tenth = int(10 * self.done / self.total) if self.total else 0
        if tenth > self._tenth:
            self._tenth = tenth
            print(self.line(), file=self.stream, flush=True)


def clock(seconds: float) -> str:
    """SECONDS as h:mm:ss or m:ss."""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
