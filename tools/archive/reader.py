"""Read the likes of an X data archive: a `.zip` read in place, an extracted folder, or a bare `like.js`.

An archive's `data/manifest.js` (`window.__THAR_CONFIG = {...}`) lists the likes
parts under `dataTypes.like.files[]`; each part is JavaScript assigning one JSON
array, `window.YTD.like.partN = [ {"like": {...}}, ... ]`. The arrays are
decoded one element at a time from a bounded buffer, so memory stays flat
however many likes there are, and nothing is ever extracted to disk.

The archive is untrusted input: what is read is capped (the manifest, each part and
all parts together, counted as they decompress, so a zip bomb stops at the cap),
a part must be named under `data/` (never `../` or an absolute path), and every
malformed input, however deep its nesting, ends in one `ArchiveError` line.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

MANIFEST = "data/manifest.js"
LIKES = "data/like.js"
CHUNK_CHARS = 64 * 1024
# One element of a likes array is a tweet's text and two ids: far below this.
MAX_ELEMENT_CHARS = 16 * 1024 * 1024
# The real manifest.js is tens of kilobytes; a 25,000-like like.js about 10 MB. Far above both.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_PART_BYTES = 1024 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_WHITESPACE = " \t\r\n"


class ArchiveError(Exception):
    """The input is not a readable archive; the message says what is wrong, in one line."""


@dataclass(frozen=True)
class Part:
    """One likes file of an archive, as its manifest lists it."""

    file_name: str
    global_name: str = "YTD.like.part0"
    count: int | None = None


@dataclass(frozen=True)
class Entry:
    """One element of a likes array, undecoded beyond JSON, and where it was found."""

    part: str
    index: int
    value: Any


class _Allowance:
    """How many more bytes may be read of something; ArchiveError naming it once they run out."""

    def __init__(self, limit: int, what: str) -> None:
        self.left = limit
        self.what = what

    def spend(self, amount: int) -> None:
        """Count `amount` bytes read."""
        self.left -= amount
        if self.left < 0:
            raise ArchiveError(f"{self.what} is larger than this tool reads: is it really an X data archive?")


class _Capped(io.RawIOBase):
    """A byte stream whose every read counts against allowances: decompression stops at the first one spent."""

    def __init__(self, stream: IO[bytes], *allowances: _Allowance) -> None:
        self._stream = stream
        self._allowances = allowances

    def readable(self) -> bool:
        """Always: this wraps a stream being read."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read into `buffer`, counting what came out."""
        data = self._stream.read(len(buffer))
        for allowance in self._allowances:
            allowance.spend(len(data))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Close the wrapped stream too."""
        self._stream.close()
        super().close()


class Archive:
    """An opened archive: its likes parts and a way to open each one."""

    def __init__(self, label: str, parts: list[Part], opener: Callable[[str], IO[bytes]]) -> None:
        self.label = label
        self.parts = parts
        self._open = opener

    def expected_count(self) -> int | None:
        """The number of likes the manifest announces, when it gives a count for every part."""
        counts = [part.count for part in self.parts]
        return None if any(count is None for count in counts) else sum(counts)  # type: ignore[misc]

    def entries(self) -> Iterator[Entry]:
        """Every element of every likes part, in order, streamed (MAX_PART_BYTES each, MAX_TOTAL_BYTES in all)."""
        total = _Allowance(MAX_TOTAL_BYTES, f"{self.label}: its likes parts together")
        for part in self.parts:
            try:
                stream = self._open(part.file_name)
            except KeyError:
                raise ArchiveError(
                    f"{self.label}: the manifest lists {part.file_name}, which is not in the archive"
                ) from None
            except _UNREADABLE as exc:
                raise ArchiveError(f"{self.label}: {part.file_name} is damaged or unreadable ({exc})") from None
            capped = _Capped(stream, _Allowance(MAX_PART_BYTES, f"{self.label}: {part.file_name}"), total)
            try:
                with io.TextIOWrapper(io.BufferedReader(capped), encoding="utf-8-sig", errors="strict") as text:
                    for index, value in enumerate(iter_js_array(text, part.file_name)):
                        yield Entry(part.file_name, index, value)
            except _UNREADABLE as exc:
                raise ArchiveError(f"{self.label}: {part.file_name} is damaged or unreadable ({exc})") from None
            except UnicodeDecodeError:
                raise ArchiveError(f"{self.label}: {part.file_name} is not UTF-8 text") from None


# What reading a damaged, encrypted or unsupported zip member can raise (ArchiveError is ours, not one of them).
_UNREADABLE = (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError)


@contextmanager
def open_archive(path: Path) -> Iterator[Archive]:
    """Open PATH as a `.zip` archive, an extracted archive folder or a bare `like.js`."""
    if not path.exists():
        raise ArchiveError(f"{path}: no such file or folder")
    if path.is_dir():
        yield _folder_archive(path)
        return
    if zipfile.is_zipfile(path):
        try:
            bundle = zipfile.ZipFile(path)
        except (*_UNREADABLE, ValueError) as exc:
            raise ArchiveError(f"{path}: damaged zip archive ({exc})") from None
        try:
            with bundle:
                yield _zip_archive(path, bundle)
        except zipfile.BadZipFile as exc:
            raise ArchiveError(f"{path}: damaged zip archive ({exc})") from None
        return
    with open(path, "rb") as stream:
        head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PK"):
        raise ArchiveError(f"{path}: damaged or incomplete zip archive")
    if not (head.startswith(b"window.YTD.") or head.startswith(b"[")):
        raise ArchiveError(f"{path}: neither an X data archive (.zip) nor its data/like.js")
    yield Archive(str(path), [Part(path.name)], lambda _name: open(path, "rb"))  # noqa: SIM115 - Archive.entries closes it


def _zip_archive(path: Path, bundle: zipfile.ZipFile) -> Archive:
    names = set(bundle.namelist())
    # A re-zipped extracted archive nests everything one folder down: find its root.
    candidates = sorted((n for n in names if n == MANIFEST or n.endswith("/" + MANIFEST)), key=len)
    if not candidates:
        candidates = sorted((n for n in names if n == LIKES or n.endswith("/" + LIKES)), key=len)
    root = candidates[0][: -len(MANIFEST if candidates[0].endswith(MANIFEST) else LIKES)] if candidates else ""

    def opener(name: str) -> IO[bytes]:
        return bundle.open(root + name)

    parts = _parts(lambda: opener(MANIFEST) if root + MANIFEST in names else None, str(path))
    if parts is None:
        if root + LIKES not in names:
            raise ArchiveError(f"{path}: a zip, but without {LIKES} (is it the X data archive?)")
        parts = [Part(LIKES)]
    _check_listed(path, parts, lambda name: root + name in names)
    return Archive(str(path), parts, opener)


def _folder_archive(path: Path) -> Archive:
    def opener(name: str) -> IO[bytes]:
        file = path / name
        if not file.is_file():
            raise KeyError(name)
        return open(file, "rb")

    parts = _parts(lambda: opener(MANIFEST) if (path / MANIFEST).is_file() else None, str(path))
    if parts is None:
        if not (path / LIKES).is_file():
            raise ArchiveError(f"{path}: a folder without {LIKES} (is it an extracted X data archive?)")
        parts = [Part(LIKES)]
    _check_listed(path, parts, lambda name: (path / name).is_file())
    return Archive(str(path), parts, opener)


def _check_listed(path: Path, parts: list[Part], present: Callable[[str], bool]) -> None:
    """Fail before reading anything when the manifest lists a part the archive does not have."""
    for part in parts:
        if not present(part.file_name):
            raise ArchiveError(f"{path}: the manifest lists {part.file_name}, which is not in the archive")


def _parts(open_manifest: Callable[[], IO[bytes] | None], label: str) -> list[Part] | None:
    """The likes parts the manifest lists; None when there is no manifest or it lists no likes."""
    stream = open_manifest()
    if stream is None:
        return None
    try:
        with stream:
            raw = stream.read(MAX_MANIFEST_BYTES + 1)
    except _UNREADABLE as exc:
        raise ArchiveError(f"{label}: {MANIFEST} is damaged or unreadable ({exc})") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ArchiveError(
            f"{label}: {MANIFEST} is larger than {MAX_MANIFEST_BYTES // 1024 // 1024} MiB: not an X data archive"
        )
    manifest = read_js_assignment(raw.decode("utf-8-sig", errors="replace"), f"{label}: {MANIFEST}")
    files = ((manifest.get("dataTypes") or {}).get("like") or {}).get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list) or not files:
        return None
    parts = []
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get("fileName"), str):
            raise ArchiveError(f"{label}: {MANIFEST} lists a likes file without a fileName")
        if not _inside_data(item["fileName"]):
            raise ArchiveError(f"{label}: {MANIFEST} lists {item['fileName']!r}, which is not a file under data/")
        count = item.get("count")
        parts.append(
            Part(
                item["fileName"],
                str(item.get("globalName") or "YTD.like.part0"),
                int(count) if isinstance(count, int | str) and str(count).isdigit() else None,
            )
        )
    return parts


def _inside_data(name: str) -> bool:
    """Whether a part's name is a plain relative path under `data/`: no `..`, no absolute path, no backslash."""
    path = PurePosixPath(name)
    return (
        len(path.parts) >= 2
        and path.parts[0] == "data"
        and not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in name
        and ":" not in name
        and name.isprintable()
    )


def read_js_assignment(text: str, label: str) -> Any:
    """The JSON value of a small `window.NAME = VALUE;` file (the manifest), trailing commas tolerated."""
    body = _after_assignment(text, label).rstrip().removesuffix(";")
    try:
        return json.loads(body)
    except RecursionError:
        raise ArchiveError(f"{label} is not valid: nested too deeply") from None
    except json.JSONDecodeError:
        try:
            return json.loads(_TRAILING_COMMA.sub(r"\1", body))
        except RecursionError:
            raise ArchiveError(f"{label} is not valid: nested too deeply") from None
        except json.JSONDecodeError as exc:
            raise ArchiveError(f"{label} is not valid ({exc.msg} at line {exc.lineno})") from None


def _after_assignment(text: str, label: str) -> str:
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("[", "{"):
        return stripped
    head, equals, rest = stripped.partition("=")
    if not equals or not re.fullmatch(r"\s*(window\.)?[\w$.]+\s*", head):
        raise ArchiveError(f"{label} does not start with window.NAME = ...")
    return rest


def iter_js_array(text: IO[str], label: str, chunk_chars: int = CHUNK_CHARS) -> Iterator[Any]:
    """Each element of the array assigned in `window.NAME = [ ... ]`, decoded one at a time."""
    decoder = json.JSONDecoder()
    buffer = text.read(chunk_chars)
    eof = not buffer
    pos = 0

    def fill() -> bool:
        nonlocal buffer, pos, eof
        if eof:
            return False
        more = text.read(chunk_chars)
        if not more:
            eof = True
            return False
        buffer = buffer[pos:] + more
        pos = 0
        return True

    def skip_space() -> str:
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in _WHITESPACE:
                pos += 1
            if pos < len(buffer):
                return buffer[pos]
            if not fill():
                return ""

    # The header: everything up to the "=" of the assignment, then the opening bracket.
    while "[" not in buffer and len(buffer) < 4096 and fill():
        pass
    head_end = buffer.find("[")
    if head_end < 0:
        raise ArchiveError(f"{label} is empty or does not hold a likes array" if not buffer.strip() else
                           f"{label} does not start with window.YTD.like.partN = [")  # fmt: skip
    _after_assignment(buffer[: head_end + 1], label)
    pos = head_end + 1
    index = 0
    if skip_space() == "]":
        pos += 1
    else:
        while True:
            if not skip_space():
                raise ArchiveError(f"{label} is truncated: it ends inside the likes array, after {index} likes")
            while True:
                try:
                    value, end = decoder.raw_decode(buffer, pos)
                    # A value that ends with the buffer may continue in the next chunk (a number, say).
                    if end < len(buffer) or eof:
                        break
                except RecursionError:
                    raise ArchiveError(f"{label} is not valid: like number {index + 1} is nested too deeply") from None
                except json.JSONDecodeError as exc:
                    if eof:
                        raise ArchiveError(
                            f"{label} is truncated or damaged: like number {index + 1} is cut off"
                            f" or not valid JSON ({exc.msg})"
                        ) from None
                    if len(buffer) - pos > MAX_ELEMENT_CHARS:
                        raise ArchiveError(f"{label} is not valid: like number {index + 1} never ends") from None
                if not fill():
                    eof = True
            pos = end
            index += 1
            yield value
            separator = skip_space()
            if separator == ",":
                pos += 1
                continue
            if separator == "]":
                pos += 1
                break
            if not separator:
                raise ArchiveError(f"{label} is truncated: it ends inside the likes array, after {index} likes")
            raise ArchiveError(f"{label} is not valid: expected , or ] after like number {index}")
    rest = buffer[pos:]
    while rest:  # read on in chunks: what follows the array may be large, and only blanks and ";" may follow
        if rest.strip(_WHITESPACE + ";"):
            raise ArchiveError(f"{label} is not valid: unexpected text after the likes array")
        rest = text.read(chunk_chars)
