"""`make dev` as a user runs it: one local URL, and captures that survive Ctrl-C and a restart."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.emulators import free_port
from tests.support import ROOT, STRONG_PASSWORD, new_email, tweet_body

pytestmark = pytest.mark.slow


def _start(data: Path, port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "PORT": str(port), "DEV_DATA": str(data), "TICK_SECONDS": "3600", **env}
    environment.pop("FIRESTORE_EMULATOR_HOST", None)
    environment.pop("PUBSUB_EMULATOR_HOST", None)
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "devtools.serve"], cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=3).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(log.read_text()[-3000:])


def _interrupt(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a user presses it in the terminal (the whole process group gets SIGINT)."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def _status(base: str, token: str, tweet_id: str) -> Any:
    response = requests.post(
        f"{base}/api/tweets/lookup", json={"tweetIds": [tweet_id]}, headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )  # fmt: skip
    return response.json()["tweets"][tweet_id]["status"]


def test_captures_survive_ctrl_c_and_a_fresh_start_forgets_them(tmp_path: Path) -> None:
    """Capture, Ctrl-C, start again: the account, its token and the capture are there; DEV_FRESH=1 starts empty."""
    data, log, port = tmp_path / "firestore", tmp_path / "dev.log", free_port()
    key = {"JWT_SECRET_KEY": ""}  # the local key make dev keeps beside its data
    base = f"http://127.0.0.1:{port}"
    process = _start(data, port, log, **key)
    try:
        _wait_ready(port, process, log)
        credentials = {"email": new_email(), "password": STRONG_PASSWORD}
        token = requests.post(f"{base}/api/auth/register", json=credentials, timeout=30).json()["accessToken"]
        tweet = tweet_body()
        captured = requests.post(
            f"{base}/api/tweets/capture", json=tweet, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert captured.json()["status"] == "published"
    finally:
        _interrupt(process)
    assert re.search(r"Firestore data: ", log.read_text())

    process = _start(data, port, log, **key)
    try:
        _wait_ready(port, process, log)
        assert _status(base, token, tweet["tweetId"]) == "published"
        login = requests.post(f"{base}/api/auth/login", json=credentials, timeout=30)
        assert login.status_code == 200, login.text
    finally:
        _interrupt(process)

    process = _start(data, port, log, DEV_FRESH="1", **key)
    try:
        _wait_ready(port, process, log)
        assert requests.post(f"{base}/api/auth/login", json=credentials, timeout=30).status_code == 401
        fresh = requests.post(f"{base}/api/auth/register", json=credentials, timeout=30).json()["accessToken"]
        assert _status(base, fresh, tweet["tweetId"]) == "absent"
    finally:
        _interrupt(process)
