"""`make dev`: the emulators plus every function behind http://127.0.0.1:8080, until Ctrl-C.

Starts the Firestore and Pub/Sub emulators on loopback, creates the topic (and a
`tweet-likes-raw-dev` pull subscription to look at what was published), serves the
`api` router on PORT (8080) and the `retry_queue` function beside it, and plays
Cloud Scheduler by sending it a tick every TICK_SECONDS (60). Firestore's documents
are saved into DEV_DATA (`.local/firestore`) at every tick and on Ctrl-C, and loaded
again at the next start, so captures survive a restart; `DEV_FRESH=1` starts empty.
Pub/Sub lives in memory only.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import threading
from pathlib import Path

from devtools.emulators import Emulator, create_topic, free_port
from devtools.samples import scheduler_tick
from devtools.server import FunctionServer, running

PROJECT = os.environ.get("GCP_PROJECT_ID", "demo-tweet-capture")
TOPIC = os.environ.get("PUBSUB_TOPIC", "tweet-likes-raw")
ROOT = Path(__file__).resolve().parent.parent


def send_tick(url: str) -> int:
    """Deliver one scheduler tick to retry_queue; the HTTP status."""
    import requests

    headers, body = scheduler_tick(PROJECT)
    return requests.post(url, data=body, headers=headers, timeout=60).status_code


def _banner(api: FunctionServer) -> str:
    url = api.url
    return f"""
Tweet Capture API is running locally (Ctrl-C stops everything):

  API        {url}/api/...      docs: {url}/api/docs
  Firestore  emulator on {os.environ["FIRESTORE_EMULATOR_HOST"]}
  Pub/Sub    emulator on {os.environ["PUBSUB_EMULATOR_HOST"]}, topic {TOPIC}, subscription {TOPIC}-dev

Try it:
  curl -s -X POST {url}/api/auth/register -H 'Content-Type: application/json' \\
       -d '{{"email":"me@example.com","password":"Str0ngPassword"}}'
  TOKEN=$(curl -s -X POST {url}/api/auth/login -H 'Content-Type: application/json' \\
       -d '{{"email":"me@example.com","password":"Str0ngPassword"}}' \\
       | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
  curl -s -X POST {url}/api/tweets/capture -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"tweetId":"1858123456789012345","tweetUrl":"https://x.com/someone/status/1858123456789012345","tweetText":"hello","authorUsername":"someone"}}'
  curl -s {url}/api/health
"""


def _dev_key(path: Path) -> str:
    """The local signing key, kept beside the data so that sessions outlive a restart (never used in production)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> int:
    """Run the local stack until interrupted; the exit status."""
    port = int(os.environ.get("PORT", "8080"))
    tick_seconds = float(os.environ.get("TICK_SECONDS", "60"))
    data = Path(os.environ.get("DEV_DATA") or ROOT / ".local" / "firestore")
    if os.environ.get("DEV_FRESH", "").lower() in {"1", "true", "yes"}:
        shutil.rmtree(data, ignore_errors=True)
        (data.parent / "dev-jwt-key").unlink(missing_ok=True)
    firestore_port = int(os.environ.get("FIRESTORE_PORT", "0")) or free_port()
    firestore = Emulator("firestore", PROJECT, firestore_port, data_dir=data)
    pubsub = Emulator("pubsub", PROJECT, int(os.environ.get("PUBSUB_PORT", "0")) or free_port())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C even when started from a script, whose background jobs inherit SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        print("starting the Firestore and Pub/Sub emulators...", flush=True)
        boots = [threading.Thread(target=e.start) for e in (firestore, pubsub)]
        for boot in boots:
            boot.start()
        for boot in boots:
            boot.join()
        if not (firestore.ready() and pubsub.ready()):
            print(f"an emulator did not start; see {firestore.log_path} and {pubsub.log_path}", file=sys.stderr)
            return 1
        os.environ.update({firestore.env_var: firestore.host, pubsub.env_var: pubsub.host})
        create_topic(PROJECT, TOPIC, subscriptions=(f"{TOPIC}-dev",))
        env = {
            "GCP_PROJECT_ID": PROJECT,
            "JWT_SECRET_KEY": os.environ.get("JWT_SECRET_KEY") or _dev_key(data.parent / "dev-jwt-key"),
            "PYTHONUNBUFFERED": "1",
        }
        api = FunctionServer("api", env, port=port)
        replay = FunctionServer("retry_queue", env)
        with running((api, replay)):
            print(_banner(api), flush=True)
            print(f"logs: {api.log_path} (api), {replay.log_path} (retry_queue)", flush=True)
            print(f"Firestore data: {data} (kept across restarts; DEV_FRESH=1 starts empty)", flush=True)
            while not stop.wait(tick_seconds):
                status = send_tick(replay.url)
                firestore.save_data()
                print(f"scheduler tick → retry_queue answered {status}; data saved", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping...", flush=True)
        firestore.stop()
        pubsub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
