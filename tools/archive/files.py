"""Output files that appear whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO


class OutputError(Exception):
    """An output file cannot be written; the message says which and why."""


class AtomicFile:
    """A text file that appears at its path only once complete, replacing any previous one in one rename.

    The content goes first to an anonymous temporary file in the target's folder
    (it has no name, so even a killed process leaves nothing behind), then, on
    success, to a named temporary file renamed over the target. Interrupted or
    failed, the target is left as it was.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self._file: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        folder = self.target.parent
        if not folder.is_dir():
            raise OutputError(f"cannot write {self.target}: folder {folder} does not exist")
        try:
            self._file = tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n", dir=folder)
        except OSError as exc:
            raise OutputError(f"cannot write {self.target}: {exc.strerror or exc}") from None
        return self._file

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._file is not None  # noqa: S101 - __enter__ ran
        with self._file as content:
            if kind is not None:
                return
            content.seek(0)
            named = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
                "w", encoding="utf-8", newline="\n", dir=self.target.parent, prefix=f".{self.target.name}.",
                suffix=".part", delete=False,
            )  # fmt: skip
            try:
                with named:
                    shutil.copyfileobj(content, named, 1024 * 1024)
                    named.flush()
                    os.fsync(named.fileno())
                os.replace(named.name, self.target)
            finally:
                Path(named.name).unlink(missing_ok=True)
