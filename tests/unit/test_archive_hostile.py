"""The archive CLI does not trust the archive.

Capped reads, parts only under data/, one line for any bad input, and the password sent
in clear only to this machine.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tools.archive import __main__ as cli
from tools.archive import reader
from tools.archive.client import Api, ApiError
from tools.archive.reader import ArchiveError, open_archive
from tools.archive.synthetic import manifest_js

LIKE = '{"like": {"tweetId": "20"}}'


def _entries(path: Path) -> list[object]:
    with open_archive(path) as archive:
        return [entry.value for entry in archive.entries()]


def _zip(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    return path


def test_a_manifest_bomb_stops_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A manifest that inflates past the cap is refused without being read whole."""
    monkeypatch.setattr(reader, "MAX_MANIFEST_BYTES", 64 * 1024)
    bomb = "window.__THAR_CONFIG = {" + " " * (1024 * 1024) + "}"
    path = _zip(tmp_path / "a.zip", {"data/manifest.js": bomb, "data/like.js": f"window.YTD.like.part0 = [{LIKE}]"})
    with pytest.raises(ArchiveError, match="larger than"):
        _entries(path)


def test_a_part_bomb_stops_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A likes part that inflates past the per-part cap is refused as it decompresses."""
    monkeypatch.setattr(reader, "MAX_PART_BYTES", 256 * 1024)
    bomb = f"window.YTD.like.part0 = [{LIKE}" + " " * (4 * 1024 * 1024) + "]"
    with pytest.raises(ArchiveError, match="larger than"):
        _entries(_zip(tmp_path / "a.zip", {"data/like.js": bomb}))


def test_all_parts_together_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many parts each under the per-part cap still stop at the total cap."""
    monkeypatch.setattr(reader, "MAX_TOTAL_BYTES", 300 * 1024)
    part = f"window.YTD.like.partN = [{LIKE}" + " " * (100 * 1024) + "]"
    files = [{"fileName": f"data/like-part{i}.js", "globalName": f"YTD.like.part{i}"} for i in range(5)]
    contents: dict[str, str | bytes] = {"data/manifest.js": manifest_js(files)}
    contents.update({f["fileName"]: part for f in files})
    with pytest.raises(ArchiveError, match="larger than"):
        _entries(_zip(tmp_path / "a.zip", contents))


@pytest.mark.parametrize("name", ["../secret.js", "/etc/passwd", "data/../../x.js", "like.js", "data\\..\\x.js"])
def test_a_part_outside_data_is_refused(tmp_path: Path, name: str) -> None:
    """A manifest naming a part outside data/ (../, absolute, bare, backslashes) is a one-line error, read nowhere."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "manifest.js").write_text(manifest_js([{"fileName": name, "globalName": "YTD.like.part0"}]))
    (tmp_path / "data" / "like.js").write_text(f"window.YTD.like.part0 = [{LIKE}]")
    with pytest.raises(ArchiveError, match="not a file under data/"):
        _entries(tmp_path)


@pytest.mark.parametrize(
    "files",
    [
        {"data/like.js": "window.YTD.like.part0 = [" + "[" * 100_000 + "]" * 100_000 + "]"},
        {"data/like.js": "window.YTD.like.part0 = [" + '{"a":' * 50_000 + "1" + "}" * 50_000 + "]"},
        {"data/manifest.js": "window.__THAR_CONFIG = " + "[" * 100_000 + "]" * 100_000, "data/like.js": "[]"},
    ],
    ids=["deep-arrays", "deep-objects", "deep-manifest"],
)
def test_deep_nesting_is_one_line(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    """Nesting deep enough to exhaust the recursion limit is an ArchiveError, not a RecursionError."""
    with pytest.raises(ArchiveError, match="nested too deeply") as raised:
        _entries(_zip(tmp_path / "a.zip", files))
    assert "\n" not in str(raised.value)


def test_the_command_prints_one_line_for_deep_nesting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The import command ends with exit status 1 and one `error:` line, no traceback."""
    path = _zip(tmp_path / "a.zip", {"data/like.js": "window.YTD.like.part0 = [" + "[" * 100_000 + "]" * 100_000 + "]"})
    monkeypatch.setenv(cli.PASSWORD_VARIABLE, "Str0ngPassword")
    status = cli.main(["import", str(path), "--api", "http://127.0.0.1:9", "--email", "me@example.com", "--dry-run"])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("error:") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.5:8080", "http://api.example.run.app/api"])
def test_plain_http_is_refused_beyond_this_machine(url: str) -> None:
    """The password travels: http:// only to a loopback host."""
    with pytest.raises(ApiError, match="https://"):
        Api(url, "me@example.com", "Str0ngPassword")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "https://x.io"])
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    """https:// anywhere, and plain http:// to this machine (make dev)."""
    Api(url, "me@example.com", "Str0ngPassword").close()
