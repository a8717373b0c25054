"""Drive a soak: clients and faults for a fixed time from one seed, then the final replays and the audit."""

from __future__ import annotations

import random
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from devtools.samples import scheduler_tick
from devtools.soak.audit import Audit, audit
from devtools.soak.extension import Extension, Ledger, Pool
from devtools.soak.stack import PROJECT, TOPIC, Stack

USERS = 3
FLUSH_SECONDS = 120.0
FINAL_REPLAY_ROUNDS = 30
# The replay's longest wait between attempts (shared.tweets.replay.BACKOFF_CAP) plus its leases.
CLOCK_STEP = timedelta(hours=7)


@dataclass(frozen=True)
class Plan:
    """The faults a seed schedules, as offsets in seconds from the start."""

    pubsub: list[tuple[float, float]]  # (at, down for)
    firestore: list[tuple[float, float]]
    kill_api: list[float]
    kill_replay: list[float]
    tick_every: tuple[float, float]
    overlapping_ticks: list[int]  # which ticks are sent twice at once

    @classmethod
    def from_seed(cls, seed: int, seconds: float) -> Plan:
        """Several Pub/Sub outages, one Firestore window, kills, and ticks every few seconds."""
        rng = random.Random(f"{seed}-faults")
        n_pubsub = max(1, min(4, int(seconds // 90)))
        windows = [("pubsub", rng.uniform(8, 15) if seconds >= 120 else 7.0) for _ in range(n_pubsub)]
        windows.append(("firestore", rng.uniform(8, 12) if seconds >= 120 else 6.0))
        rng.shuffle(windows)
        span_start, span_end = 0.1 * seconds, 0.85 * seconds
        slack = max(0.0, span_end - span_start - sum(length for _, length in windows))
        gaps = sorted(rng.uniform(0, slack) for _ in windows)
        at, placed, used = span_start, {"pubsub": [], "firestore": []}, 0.0
        for (kind, length), gap in zip(windows, gaps, strict=True):
            at += gap - used
            used = gap
            placed[kind].append((round(at, 1), round(length, 1)))
            at += length
        kills = max(1, int(seconds // 100))
        kill_api = [round(rng.uniform(0.05, 0.9) * seconds, 1) for _ in range(kills - 1)]
        # One kill always lands inside a Pub/Sub outage: a crash while captures are being queued.
        at, length = rng.choice(placed["pubsub"])
        kill_api = sorted([*kill_api, round(at + rng.uniform(0.3, 0.7) * length, 1)])
        kill_replay = [round(rng.uniform(0.2, 0.9) * seconds, 1)]
        ticks = int(seconds / 3.5)
        overlapping = sorted(rng.sample(range(1, max(3, ticks)), 2))
        return cls(placed["pubsub"], placed["firestore"], kill_api, kill_replay, (2.0, 5.0), overlapping)


class Soak:
    """One run: the stack, the clients, the faults, the final replays and the audit."""

    def __init__(self, seconds: float, seed: int, unlike: bool = True) -> None:
        self.seconds = seconds
        self.seed = seed
        self.unlike = unlike
        self.plan = Plan.from_seed(seed, seconds)
        self.stack = Stack(jwt_key=secrets.token_urlsafe(48))
        self.ledger = Ledger()
        self.running = threading.Event()
        self.flushing = threading.Event()
        self.ticking = 0
        self.tick_lock = threading.Lock()
        self.notes: list[str] = []
        self.durations: dict[str, float] = {}

    def log(self, text: str) -> None:
        """A progress line."""
        print(f"[soak +{time.monotonic() - self.t0:6.1f}s] {text}", flush=True)

    # --- faults and ticks ------------------------------------------------------
    def _at(self, offset: float) -> bool:
        """Sleep until `offset` seconds after the start; False if the run ended first."""
        while time.monotonic() - self.start < offset:
            if not self.running.is_set():
                return False
            time.sleep(0.05)
        return self.running.is_set()

    def _windows(self) -> None:
        events = [(at, "pubsub", length) for at, length in self.plan.pubsub]
        events += [(at, "firestore", length) for at, length in self.plan.firestore]
        for at, kind, length in sorted(events):
            if not self._at(at):
                return
            self.log(f"{kind} outage for {length:.0f}s")
            if kind == "pubsub":
                self.stack.pubsub_outage(length)
            else:
                self.stack.firestore_window(length)
            self.log(f"{kind} back")

    def _kills(self) -> None:
        events = [(at, "api") for at in self.plan.kill_api] + [(at, "retry_queue") for at in self.plan.kill_replay]
        for at, target in sorted(events):
            if not self._at(at):
                return
            server = self.stack.api if target == "api" else self.stack.replay
            busy = self.ledger.busy if target == "api" else lambda: self.ticking > 0
            restart = self.stack.kill(server, busy)
            self.log(f"killed {target} (SIGKILL) and restarted it in {restart:.1f}s")

    def _tick(self) -> None:
        headers, body = scheduler_tick(PROJECT)
        with self.tick_lock:
            self.ticking += 1
        try:
            response = requests.post(self.stack.replay.url, data=body, headers=headers, timeout=90)
            self.ledger.count(f"ticks answered {response.status_code}")
        except requests.RequestException:
            self.ledger.count("ticks without an answer")
        finally:
            with self.tick_lock:
                self.ticking -= 1

    def _ticks(self) -> None:
        rng = random.Random(f"{self.seed}-ticks")
        index = 0
        workers: list[threading.Thread] = []
        while self.running.is_set():
            time.sleep(rng.uniform(*self.plan.tick_every))
            index += 1
            copies = 2 if index in self.plan.overlapping_ticks else 1
            if copies == 2:
                self.ledger.count("overlapping tick pairs")
            for _ in range(copies):
                worker = threading.Thread(target=self._tick, daemon=True)
                worker.start()
                workers.append(worker)
        for worker in workers:
            worker.join(100)

    # --- the run -------------------------------------------------------------------
    def run(self) -> tuple[Audit, dict[str, Any]]:
        """Start, drive, stop the faults, flush, replay, drain, audit; always stops the stack."""
        self.t0 = time.monotonic()
        print(f"soak: SOAK_SEED={self.seed} SOAK_SECONDS={self.seconds:g} unlike={self.unlike}", flush=True)
        print(f"soak: plan {self.plan}", flush=True)
        try:
            self.stack.start()
            self.durations["set-up"] = time.monotonic() - self.t0
            self.log(f"stack up: api {self.stack.api.url}, retry_queue {self.stack.replay.url}")
            return self._drive()
        finally:
            self.stack.stop()

    def _drive(self) -> tuple[Audit, dict[str, Any]]:
        pool = Pool()
        extensions = [
            Extension(self.stack.api.url, self.ledger, pool, self.seed, f"u{n}", self.unlike) for n in range(USERS)
        ]
        for extension in extensions:
            extension.register()
        self.running.set()
        self.flushing.set()
        self.start = time.monotonic()
        clients = [
            threading.Thread(target=loop, args=(self.running, self.flushing), daemon=True)
            for extension in extensions
            for loop in (extension.like_loop, extension.flush_loop)
        ]
        faults = [threading.Thread(target=target, daemon=True) for target in (self._windows, self._kills, self._ticks)]
        for thread in clients + faults:
            thread.start()
        time.sleep(self.seconds)
        self.running.clear()
        self.log("load over; waiting for the faults in progress to end")
        for thread in faults:
            thread.join(120)
        self.durations["load"] = time.monotonic() - self.start
        flush_started = time.monotonic()
        for thread in clients:
            thread.join(max(1.0, FLUSH_SECONDS - (time.monotonic() - flush_started)))
        self.flushing.clear()
        for thread in clients:
            thread.join(30)
        self.durations["final flush"] = time.monotonic() - flush_started
        self.log(f"clients flushed; still held: {sum(e.held_count() for e in extensions)}")
        replay_started = time.monotonic()
        self._final_replays()
        self.durations["final replays"] = time.monotonic() - replay_started
        self.stack.drainer.drain(quiet=3.0, timeout=60)
        held = {(e.user_id, t): op for e in extensions for t, op in e.held.items()}
        held.update({(e.user_id, t): "like" for e in extensions for t in e.offline})
        tweets, queue = self._firestore()
        result = audit(
            self.ledger, list(self.stack.drainer.messages), self.stack.faults, tweets, queue, held, self.unlike
        )
        self.durations["total"] = time.monotonic() - self.t0
        header = {
            "seed": self.seed,
            "seconds": self.seconds,
            "unlike": self.unlike,
            "plan": self.plan.__dict__,
            "faults": [w.__dict__ for w in [*self.stack.faults.windows, *self.stack.faults.kills]],
            "durations_s": {k: round(v, 1) for k, v in self.durations.items()},
            "notes": self.notes,
        }
        return result, header

    def _final_replays(self) -> None:
        """Ticks to the real retry_queue, then replays with the clock moved past every backoff, until empty.

        Items that failed during an outage wait 5 minutes to 6 hours (shared.tweets.replay.backoff)
        and the function's clock cannot be moved, so the last rounds run the same
        `replay_queue` here, each `CLOCK_STEP` later than the one before.
        """
        from google.cloud import firestore, pubsub_v1

        from shared.clients import LazyClient
        from shared.tweets.publish import PubSubPublisher, topic_path
        from shared.tweets.replay import ACTIVE, replay_queue

        for _ in range(2):
            self._tick()
        db = firestore.Client(project=PROJECT)
        publisher = PubSubPublisher(LazyClient(pubsub_v1.PublisherClient), topic_path(PROJECT, TOPIC), 3.0)
        for round_ in range(1, FINAL_REPLAY_ROUNDS + 1):
            active = list(
                db.collection("queue").where(filter=firestore.FieldFilter("status", "in", list(ACTIVE))).get()
            )
            if not active:
                self.log(f"queue empty after {round_ - 1} clock-moved replay round(s)")
                return
            report = replay_queue(db, publisher, 5, datetime.now(UTC) + CLOCK_STEP * round_)
            self.log(f"final replay round {round_}: {len(active)} active, {report.summary()}")
        self.notes.append(f"queue not empty after {FINAL_REPLAY_ROUNDS} final replay rounds")

    def _firestore(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        from google.cloud import firestore

        db = firestore.Client(project=PROJECT)
        tweets = {s.id: s.to_dict() for s in db.collection("tweets").stream()}
        queue = {s.id: s.to_dict() for s in db.collection("queue").stream()}
        return tweets, queue
