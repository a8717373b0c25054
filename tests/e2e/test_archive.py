"""`python -m tools.archive` as a user runs it, against the `api` function on the emulators.

The tool runs as its own process, talking HTTP to functions-framework serving
`api`, which talks to the real Firestore and Pub/Sub emulators. The archive is
synthetic, in the real format: 3 likes parts in a manifest, ids from 2008 to
2026, texts with entities and non-ASCII, some without text, 40 exact repeats
across parts and 5 malformed entries.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.emulators import free_port
from devtools.server import FunctionServer
from tests.support import ROOT, STRONG_PASSWORD, Emulators, new_email, pull, server_env, subscribe
from tools.archive.synthetic import expected_text, synthetic_likes, write_archive

pytestmark = pytest.mark.slow

LIKES = 3000
REPEATS = 40
MALFORMED = 5
# The suite measures the tool, not the per-user budget: lift it (the README states the deployed limits).
UNTHROTTLED = {
    "RATE_LIMIT_PER_MINUTE": "100000",
    "BATCH_RATE_LIMIT_PER_MINUTE": "100000",
    "DAILY_CAPTURE_LIMIT": "10000000",
}


@pytest.fixture(scope="module", name="archive")
def _archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic archive of the module: 3,000 likes, 40 repeats, 5 malformed, in 3 parts."""
    path = tmp_path_factory.mktemp("archive") / "twitter-2026-11-01-synthetic.zip"
    plan = write_archive(path, LIKES, parts=3, repeats=REPEATS, malformed=MALFORMED)
    assert (plan.valid, plan.repeats, plan.malformed) == (LIKES, REPEATS, MALFORMED)
    return path


@pytest.fixture(scope="module", name="expected")
def _expected() -> dict[str, str]:
    """Tweet id → the text its capture must carry, for every distinct valid like of the archive."""
    return {like["like"]["tweetId"]: expected_text(like) for like in synthetic_likes(LIKES)}


class Deployment:
    """The `api` function on a database of its own, with one registered account."""

    def __init__(self, server: FunctionServer) -> None:
        self.server = server
        self.url = server.url
        self.email = new_email("archive")
        response = requests.post(
            f"{self.url}/api/auth/register", json={"email": self.email, "password": STRONG_PASSWORD}, timeout=30
        )
        assert response.status_code == 201, response.text
        self.user_id = response.json()["userId"]


@pytest.fixture(name="deployment")
def _deployment(serve) -> Deployment:
    """A deployment for the test, on its own empty database."""
    return Deployment(serve("api", **UNTHROTTLED))


@pytest.fixture(name="second_deployment")
def _second_deployment(backends: Emulators) -> Deployment:
    """Another deployment, on another empty database: where an export is imported again."""
    env = server_env(backends, FIRESTORE_DATABASE=f"test-{uuid.uuid4().hex[:12]}", **UNTHROTTLED)
    server = FunctionServer("api", env).start()
    yield Deployment(server)
    server.stop()


def tool(
    *args: str | Path, cwd: Path, password: str = STRONG_PASSWORD, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run `python -m tools.archive ARGS` as a user would; its completed process."""
    return subprocess.run(
        [sys.executable, "-m", "tools.archive", *map(str, args)],
        cwd=cwd,
        env=tool_env(password),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tool_env(password: str) -> dict[str, str]:
    """The tool's environment: the repository importable, the password in TCA_PASSWORD, no emulator variables."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    return {**env, "PYTHONPATH": str(ROOT), "TCA_PASSWORD": password, "PYTHONUNBUFFERED": "1"}


def import_args(deployment: Deployment, archive: Path, invalid: Path) -> list[str | Path]:
    """The import command line against DEPLOYMENT."""
    return ["import", archive, "--api", deployment.url, "--email", deployment.email, "--invalid-out", invalid]


def summary(result: subprocess.CompletedProcess) -> str:
    """The tool's last line of output, checking it ended well."""
    assert result.returncode == 0, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    return result.stdout.strip().splitlines()[-1]


def archive_messages(subscription: str, user_id: str, expect: int, settle: float = 2.0) -> list[Any]:
    """The messages of USER_ID pulled from SUBSCRIPTION, once EXPECT arrived and SETTLE seconds brought no more."""
    messages = pull(subscription, expect, timeout=60 + expect / 50, settle=settle)
    return [m for m in messages if m.attributes.get("userId") == user_id]


def export_ids_and_texts(path: Path) -> dict[str, str]:
    """Tweet id → text of every line of an NDJSON export."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all({"tweetId", "status", "createdAt", "unlikedAt", "tweet"} <= set(line) for line in lines)
    return {line["tweetId"]: line["tweet"].get("tweetText", "") for line in lines}


def test_an_archive_imports_to_exact_counts_and_a_second_import_sends_nothing(
    deployment: Deployment, archive: Path, expected: dict[str, str], tmp_path: Path, uid: str
) -> None:
    """3,000 distinct likes: 3,000 captures and archive messages, 40 duplicates, 5 invalid; run again, all duplicate."""
    subscription = subscribe(f"archive-{uid}")
    invalid = tmp_path / "invalid.ndjson"
    result = tool(*import_args(deployment, archive, invalid), cwd=tmp_path)
    line = summary(result)
    assert line.startswith(f"done: {LIKES:,} new, {REPEATS} duplicate, {MALFORMED} invalid (listed in {invalid})")
    assert f"{LIKES + REPEATS:,} to send" in result.stdout and "Firestore: ≈" in result.stdout
    listed = [json.loads(row) for row in invalid.read_text(encoding="utf-8").splitlines()]
    assert len(listed) == MALFORMED and all(row["errors"] and row["file"] == "data/like-part2.js" for row in listed)
    messages = archive_messages(subscription, deployment.user_id, LIKES)
    assert len(messages) == LIKES
    assert {m.attributes["tweetId"] for m in messages} == set(expected)
    assert {m.attributes["source"] for m in messages} == {"archive"}
    for message in messages[:: LIKES // 50]:
        data = json.loads(message.data)["data"]
        assert data["tweetText"] == expected[data["tweetId"]]

    again = tool(*import_args(deployment, archive, invalid), cwd=tmp_path)
    assert summary(again).startswith(f"done: 0 new, {LIKES + REPEATS:,} duplicate, {MALFORMED} invalid")
    assert f"{LIKES + REPEATS:,} already captured" in again.stdout and " 0 to send" in again.stdout
    assert archive_messages(subscription, deployment.user_id, 0, settle=3.0) == []


def test_an_import_killed_half_way_finishes_on_the_next_run_without_sending_anything_twice(
    deployment: Deployment, archive: Path, expected: dict[str, str], tmp_path: Path, uid: str
) -> None:
    """Killed (SIGKILL) at about 50 % and run again: the topic holds exactly one message per distinct valid like."""
    subscription = subscribe(f"archive-killed-{uid}")
    invalid = tmp_path / "invalid.ndjson"
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.archive", *map(str, import_args(deployment, archive, invalid))],
        cwd=tmp_path,
        env=tool_env(STRONG_PASSWORD),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    killed_at = None
    for line in process.stderr:  # progress lines every tenth of the way when stderr is not a terminal
        if line.startswith("importing [") and int(line.split("/")[0].rsplit(" ", 1)[-1].replace(",", "")) >= LIKES / 2:
            os.killpg(process.pid, signal.SIGKILL)
            killed_at = line
            break
    process.wait(timeout=60)
    assert killed_at is not None and process.returncode == -signal.SIGKILL, "the import ended before half-way"
    assert list(tmp_path.iterdir()) == [], "a killed import leaves no file, half-written or temporary"
    rerun = tool(*import_args(deployment, archive, invalid), cwd=tmp_path)
    line = summary(rerun)
    assert f"{MALFORMED} invalid" in line
    messages = archive_messages(subscription, deployment.user_id, LIKES)
    assert len(messages) == LIKES, killed_at
    assert {m.attributes["tweetId"] for m in messages} == set(expected)


def test_export_then_import_into_an_empty_deployment_then_export_again_holds_the_same_tweets(
    deployment: Deployment, second_deployment: Deployment, archive: Path, expected: dict[str, str], tmp_path: Path
) -> None:
    """Export → import of its like.js into an empty database → export: the same ids and the same texts."""
    summary(tool(*import_args(deployment, archive, tmp_path / "invalid.ndjson"), cwd=tmp_path))
    first, like_js = tmp_path / "first.ndjson", tmp_path / "like.js"
    common = ["--api", deployment.url, "--email", deployment.email]
    exported = tool("export", first, "--like-js", like_js, *common, cwd=tmp_path)
    assert summary(exported).startswith(f"done: {LIKES:,} captures to {first} and {LIKES:,} likes to {like_js}")
    assert export_ids_and_texts(first) == expected
    assert like_js.read_text(encoding="utf-8").startswith('window.YTD.like.part0 = [\n  {\n    "like" : {')

    reimported = tool(*import_args(second_deployment, like_js, tmp_path / "again.ndjson"), cwd=tmp_path)
    assert summary(reimported).startswith(f"done: {LIKES:,} new, 0 duplicate, 0 invalid")
    second = tmp_path / "second.ndjson"
    summary(tool("export", second, "--api", second_deployment.url, "--email", second_deployment.email, cwd=tmp_path))
    assert export_ids_and_texts(second) == export_ids_and_texts(first)


def test_a_minute_budget_is_waited_out_and_the_import_still_counts_exactly(serve, tmp_path: Path, uid: str) -> None:
    """BATCH_RATE_LIMIT_PER_MINUTE=200 and 300 likes: the rest is sent after Retry-After, each tweet once."""
    deployment = Deployment(serve("api", BATCH_RATE_LIMIT_PER_MINUTE="200"))
    archive = tmp_path / "small.zip"
    write_archive(archive, 300, repeats=0, malformed=0)
    subscription = subscribe(f"archive-minute-{uid}")
    result = tool(*import_args(deployment, archive, tmp_path / "invalid.ndjson"), cwd=tmp_path)
    assert summary(result).startswith("done: 300 new, 0 duplicate, 0 invalid")
    messages = archive_messages(subscription, deployment.user_id, 300)
    assert len(messages) == len({m.attributes["tweetId"] for m in messages}) == 300


def test_a_spent_daily_budget_stops_the_import_with_when_to_run_again(serve, tmp_path: Path) -> None:
    """DAILY_CAPTURE_LIMIT=200 and 300 likes: 200 captured, exit 75, and a line saying when to run it again."""
    deployment = Deployment(serve("api", BATCH_RATE_LIMIT_PER_MINUTE="100000", DAILY_CAPTURE_LIMIT="200"))
    archive = tmp_path / "small.zip"
    write_archive(archive, 300, repeats=0, malformed=0)
    result = tool(*import_args(deployment, archive, tmp_path / "invalid.ndjson"), cwd=tmp_path)
    assert result.returncode == 75, (result.stdout, result.stderr)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("stopped after 200 new captures") and "run the same command again after" in last


def test_an_unliked_capture_is_exported_as_such_kept_in_like_js_and_not_reliked_by_an_import(
    deployment: Deployment, tmp_path: Path
) -> None:
    """After an unlike: the NDJSON says unliked, like.js keeps every capture, a re-import does not like it again."""
    archive = tmp_path / "small.zip"
    write_archive(archive, 30, repeats=0, malformed=0)
    invalid = tmp_path / "invalid.ndjson"
    summary(tool(*import_args(deployment, archive, invalid), cwd=tmp_path))
    token = requests.post(
        f"{deployment.url}/api/auth/login", json={"email": deployment.email, "password": STRONG_PASSWORD}, timeout=30
    ).json()["accessToken"]
    gone = next(synthetic_likes(30))["like"]["tweetId"]
    response = requests.post(
        f"{deployment.url}/api/tweets/unlike", json={"tweetId": gone}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    out, like_js = tmp_path / "all.ndjson", tmp_path / "like.js"
    exported = tool(
        "export", out, "--like-js", like_js, "--api", deployment.url, "--email", deployment.email, cwd=tmp_path
    )
    assert summary(exported).startswith(f"done: 30 captures to {out} and 30 likes to {like_js}")
    unliked = [json.loads(line) for line in out.read_text().splitlines() if json.loads(line)["status"] == "unliked"]
    assert [item["tweetId"] for item in unliked] == [gone] and unliked[0]["unlikedAt"]
    assert gone in like_js.read_text()
    again = tool(*import_args(deployment, archive, invalid), cwd=tmp_path)
    assert summary(again).startswith("done: 0 new, 30 duplicate")


def _bad_archives(folder: Path) -> dict[str, tuple[Path, str]]:
    """Broken inputs, each with what the error line must say."""
    good = folder / "good.zip"
    write_archive(good, 30)
    with zipfile.ZipFile(good) as bundle:
        parts = {name: bundle.read(name) for name in bundle.namelist()}
    cases: dict[str, tuple[Path, str]] = {}

    def rezip(name: str, files: dict[str, bytes], says: str) -> None:
        path = folder / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as bundle:
            for file, data in files.items():
                bundle.writestr(file, data)
        cases[name] = (path, says)

    (folder / "photo.zip").write_bytes(b"\x89PNG\r\n\x1a\n not an archive")
    cases["not a zip"] = (folder / "photo.zip", "neither an X data archive")
    rezip(
        "no like.js",
        {k: v for k, v in parts.items() if not k.startswith("data/like")} | {"data/manifest.js": b"{}"},
        "without data/like.js",
    )
    rezip("truncated like.js", parts | {"data/like-part1.js": parts["data/like-part1.js"][:-300]}, "truncated")
    rezip("missing part", {k: v for k, v in parts.items() if k != "data/like-part2.js"}, "lists data/like-part2.js")
    return cases


@pytest.mark.parametrize("case", ["not a zip", "no like.js", "truncated like.js", "missing part"])
def test_bad_archives_fail_with_one_line_and_nothing_written(deployment: Deployment, tmp_path: Path, case: str) -> None:
    """Each broken input: exit status 1, one 'error:' line saying what is wrong, no output file, nothing captured."""
    path, says = _bad_archives(tmp_path)[case]
    out = tmp_path / "out"
    out.mkdir()
    result = tool(*import_args(deployment, path, out / "invalid.ndjson"), cwd=out)
    assert result.returncode == 1, (result.stdout, result.stderr)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and says in line
    assert list(out.iterdir()) == []
    listing = tool("export", out / "all.ndjson", "--api", deployment.url, "--email", deployment.email, cwd=tmp_path)
    assert summary(listing).startswith("done: 0 captures")


def test_wrong_credentials_fail_with_one_line_and_no_file(
    deployment: Deployment, archive: Path, tmp_path: Path
) -> None:
    """A wrong password: exit 1, 'wrong e-mail or password', and neither the export nor the invalid list is written."""
    common = ["--api", deployment.url, "--email", deployment.email]
    for args in (["export", tmp_path / "all.ndjson", "--like-js", tmp_path / "like.js", *common],
                 [*import_args(deployment, archive, tmp_path / "invalid.ndjson")]):  # fmt: skip
        result = tool(*args, cwd=tmp_path, password="Wrong-Horse-1")
        assert result.returncode == 1
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: ") and "wrong e-mail or password" in line
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_api_fails_fast_with_one_line_and_no_file(archive: Path, tmp_path: Path) -> None:
    """Nothing listens at --api: exit 1 within seconds, 'cannot reach', no file written."""
    url = f"http://127.0.0.1:{free_port()}"
    common = ["--api", url, "--email", "me@example.com"]
    for args in (["export", tmp_path / "all.ndjson", *common],
                 ["import", archive, *common, "--invalid-out", tmp_path / "i.ndjson"]):  # fmt: skip
        result = tool(*args, cwd=tmp_path, timeout=30)
        assert result.returncode == 1
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"error: cannot reach {url}")
    assert list(tmp_path.iterdir()) == []
