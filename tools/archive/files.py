"""Output files that appear whole or not at all: written beside the target, renamed into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO


class OutputError(Exception):
    """An output file cannot be written; the message says which and why."""


class AtomicFile:
    """A text file written to a temporary name in the target's folder and renamed over it on success.

    Interrupted or failed, the target is left as it was (absent, or its previous
    content) and the temporary file is removed: nothing is ever half-written.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self._file: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        folder = self.target.parent
        if not folder.is_dir():
            raise OutputError(f"cannot write {self.target}: folder {folder} does not exist")
        try:
            self._file = tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", newline="\n", dir=folder, prefix=f".{self.target.name}.", suffix=".part",
                delete=False,
            )  # fmt: skip
        except OSError as exc:
            raise OutputError(f"cannot write {self.target}: {exc.strerror or exc}") from None
        return self._file

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._file is not None  # noqa: S101 - __enter__ ran
        temporary = Path(self._file.name)
        try:
            if kind is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if kind is None:
                os.replace(temporary, self.target)
        finally:
            temporary.unlink(missing_ok=True)
