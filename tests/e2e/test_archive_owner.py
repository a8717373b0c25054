"""`python -m tools.archive republish` and `queue` as the owner runs them, against `api` on the emulators."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import requests

from tests.e2e.test_archive import UNTHROTTLED, Deployment, archive_messages, import_args, summary, tool
from tests.support import STRONG_PASSWORD, subscribe
from tools.archive.owner import state_file
from tools.archive.synthetic import write_archive

LIKES = 1200


def _import(deployment: Deployment, tmp_path: Path) -> None:
    archive = tmp_path / "twitter-synthetic.zip"
    write_archive(archive, LIKES, parts=1, repeats=0, malformed=0)
    summary(tool(*import_args(deployment, archive, tmp_path / "invalid.ndjson"), cwd=tmp_path))


def test_republish_since_sends_every_capture_once_and_resumes_from_its_state_file(
    serve, tmp_path: Path, uid: str
) -> None:
    """A run resumed from a saved cursor sends only what follows it; with the first page, every capture once."""
    deployment = Deployment(serve("api", **UNTHROTTLED))
    _import(deployment, tmp_path)
    subscription = subscribe(f"archive-republish-{uid}")
    login = requests.post(
        f"{deployment.url}/api/auth/login", json={"email": deployment.email, "password": STRONG_PASSWORD}, timeout=30
    ).json()
    first = requests.post(
        f"{deployment.url}/api/tweets/republish",
        json={"since": "2000-01-01"},
        headers={"Authorization": f"Bearer {login['accessToken']}"},
        timeout=60,
    ).json()
    assert first["republished"] == 500 and first["nextCursor"]
    state = state_file("2000-01-01", tmp_path)
    state.write_text(first["nextCursor"] + "\n")  # as a run interrupted after its first page leaves it
    common = ["--api", deployment.url, "--email", deployment.email]
    done = summary(tool("republish", "--since", "2000-01-01", *common, cwd=tmp_path))
    assert done == f"done: {LIKES - 500:,} republished, 0 queued for the replay"
    assert not state.exists()
    messages = archive_messages(subscription, deployment.user_id, LIKES)
    replays = Counter(m.attributes["tweetId"] for m in messages if m.attributes.get("replay") == "true")
    assert len(replays) == LIKES and set(replays.values()) == {1}


def test_queue_prints_the_view_and_retries_failed_items(serve, tmp_path: Path) -> None:
    """`queue --retry-failed` on a healthy deployment: nothing waiting, nothing to retry."""
    deployment = Deployment(serve("api", **UNTHROTTLED))
    common = ["--api", deployment.url, "--email", deployment.email]
    result = tool("queue", "--retry-failed", *common, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "0 not on the topic yet: 0 pending, 0 retrying, 0 failed",
        "0 failed items pending again; the next replay run publishes them",
    ]
