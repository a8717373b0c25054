"""Benchmark: cold starts, capture latency against its floor, auth latency, Firestore operations per request.

`make bench` (or `python -m devtools.bench [--quick]`) starts its own emulators on
free loopback ports, runs the entry points in real functions-framework processes,
prints a table and writes the numbers to bench-results.json. Not part of the test
suite; nothing here is deployed.

1. Cold start of every function: process spawn to first successful response, the
   baseline of importing its client libraries in a fresh interpreter (same rounds),
   the import time of `main`, which client libraries the first request imported
   (in-process) and every import of one real cold process (PYTHONPROFILEIMPORTTIME).
2. Capture latency (sequential, keep-alive) and throughput (8 clients); the same
   entry point in-process through a test client, to split HTTP from handler time.
3. The floor of a capture: its Firestore and Pub/Sub calls issued directly by
   calling the same shared functions with a plain client, round-robin with (2).
4. register/login (bcrypt cost 12) and refresh latency.
5. Firestore reads, writes and deletes per request, counted on the wire.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import io
import json
import logging
import math
import os
import platform
import secrets
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import requests

from devtools import importtime
from devtools.emulators import Emulator, free_port, start_pair
from devtools.firstrequest import MARKER, RESULT_PREFIX
from devtools.samples import new_email, scheduler_tick, tweet_body
from devtools.server import ROOT, FunctionServer

PROJECT = "demo-bench"
TOPIC = "tweet-likes-raw"
DATABASE = "bench"
OPS_DATABASE = "bench-ops"
PASSWORD = "Correct-Horse-9"  # noqa: S105 - throwaway accounts on the emulator
ORIGIN = "chrome-extension://" + "abcdefghijklmnopabcdefghijklmnop"
TARGETS = ("register", "login", "refresh", "logout", "capture", "health", "retry_queue", "api")
# Which client libraries a function needs, for the import baseline its cold start is held to.
NEEDS_PUBSUB = frozenset({"capture", "health", "retry_queue", "api"})
COLD_TARGET_MS = 150.0
FLOOR_STEPS = ("ratelimit", "store", "publish", "settle")
COLD_HEADERS = [
    "target", "cold", "min", "clients", "base", "cold-base", "<=150", "min-min", "ff+base", "cold-(ff+base)",
    "1st handler", "warm", "main", "main+", "own+", "fs@1st", "ps@1st",
]  # fmt: skip
RATIO_TARGET = 1.3
CONFIG_VARS = (
    "GCP_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "JWT_SECRET_KEY", "PUBSUB_TOPIC", "FIRESTORE_DATABASE",
    "ACCESS_TOKEN_EXPIRE_MINUTES", "REFRESH_TOKEN_EXPIRE_DAYS", "RATE_LIMIT_PER_MINUTE", "LOG_LEVEL",
    "ALLOWED_ORIGINS", "ALLOWED_EMAILS", "BCRYPT_ROUNDS", "PUBLISH_TIMEOUT_SECONDS", "MAX_RETRY_ATTEMPTS",
    "REFRESH_TOKEN_ROTATION", "REFRESH_TOKEN_GRACE_SECONDS", "TRUSTED_PROXY_HOPS", "FUNCTION_TARGET", "K_SERVICE",
)  # fmt: skip
LIBRARIES = (
    "functions-framework", "flask", "werkzeug", "gunicorn", "marshmallow", "pyjwt", "bcrypt",
    "google-cloud-firestore", "google-cloud-pubsub", "google-api-core", "grpcio", "protobuf",
)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """How many iterations each measurement takes."""

    cold_runs: int = 5
    warm_after_cold: int = 3
    import_runs: int = 3
    captures: int = 300
    throughput_captures: int = 400
    throughput_clients: int = 8
    preflights: int = 100
    auth: int = 15
    refreshes: int = 50
    micro: int = 1000
    bcrypt_checks: int = 3


QUICK = Plan(
    cold_runs=2, warm_after_cold=2, import_runs=1, captures=60,
    throughput_captures=80, preflights=30, auth=4, refreshes=10, micro=200, bcrypt_checks=2,
)  # fmt: skip


# ---------------------------------------------------------------- statistics


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(seconds: list[float]) -> dict[str, Any]:
    """n, p50, p95, p99, mean, min and max of durations in seconds, as milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 2),
        "p95": round(percentile(ms, 95), 2),
        "p99": round(percentile(ms, 99), 2),
        "mean": round(statistics.fmean(ms), 2),
        "min": round(min(ms), 2),
        "max": round(max(ms), 2),
    }


def bounded(count: int, seconds: float) -> Iterator[int]:
    """range(count), cut short once `seconds` have passed."""
    deadline = time.monotonic() + seconds
    for index in range(count):
        if time.monotonic() > deadline:
            print(f"  (time budget of {seconds:.0f}s reached after {index} of {count})", file=sys.stderr)
            return
        yield index


# ---------------------------------------------------------------- requests and bodies


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request to a function and the answer that counts as success."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    expect: int
    expect_fields: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def json_post(body: dict[str, Any], expect: int, path: str = "/", token: str | None = None) -> RequestSpec:
        """A JSON POST as the extension sends it."""
        headers = {"Content-Type": "application/json", "Origin": ORIGIN}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return RequestSpec("POST", path, headers, json.dumps(body), expect)

    def send(self, base_url: str, session: requests.Session | None = None, timeout: float = 30.0) -> requests.Response:
        """Send over `session` (keep-alive) or a fresh connection."""
        sender = session or requests
        return sender.request(
            self.method, base_url + self.path, headers=self.headers, data=self.body.encode("utf-8"), timeout=timeout
        )

    def check(self, response: requests.Response) -> None:
        """Raise unless `response` is the expected success."""
        ok = response.status_code == self.expect
        if ok and self.expect_fields:
            body = response.json()
            ok = all(body.get(name) == value for name, value in self.expect_fields.items())
        if not ok:
            raise RuntimeError(f"{self.method} {self.path}: {response.status_code} {response.text[:300]}")

    def to_json(self) -> str:
        """The request for devtools.firstrequest."""
        return json.dumps({"method": self.method, "path": self.path, "headers": self.headers, "body": self.body})


def tick_event() -> tuple[dict[str, str], str]:
    """A Cloud Scheduler tick as Eventarc delivers it, with a text body."""
    headers, body = scheduler_tick(PROJECT)
    return headers, body.decode("utf-8")


def server_latencies(output: str) -> list[float]:
    """Handler latencies (seconds) from a function's access log lines, in order."""
    found = []
    for line in output.splitlines():
        if not line.startswith("{") or "httpRequest" not in line:
            continue
        with contextlib.suppress(ValueError, KeyError, TypeError):
            found.append(float(json.loads(line)["httpRequest"]["latency"].rstrip("s")))
    return found


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


# ---------------------------------------------------------------- the run


@dataclass
class Tokens:
    """Accounts and tokens prepared through a register process before the cold starts."""

    login_email: str = ""
    refresh_token: str = ""
    access_token: str = ""
    logout_tokens: list[str] = field(default_factory=list)
    refresh_tokens: list[str] = field(default_factory=list)  # one session per run: rotation retires a used token


class Bench:
    """One benchmark run: its emulators, the processes it started and the results so far."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.jwt_key = secrets.token_urlsafe(48)
        self.firestore: Emulator | None = None
        self.pubsub: Emulator | None = None
        self.servers: list[FunctionServer] = []
        self.results: dict[str, Any] = {}
        self.tokens = Tokens()
        self.prep: FunctionServer | None = None

    # -- infrastructure

    def start_emulators(self) -> None:
        """Start both emulators side by side on free loopback ports and create the topic."""
        self.firestore, self.pubsub = start_pair(PROJECT, TOPIC)
        os.environ.update(self.backend_env())

    def backend_env(self) -> dict[str, str]:
        """The emulator variables of this run."""
        assert self.firestore and self.pubsub  # noqa: S101 - started first
        return {self.firestore.env_var: self.firestore.host, self.pubsub.env_var: self.pubsub.host}

    def env(self, target: str, database: str = DATABASE, **overrides: str) -> dict[str, str]:
        """A function's environment: every setting explicit (blank = default), then `overrides`."""
        env = {name: "" for name in CONFIG_VARS}
        env.update(self.backend_env())
        env.update(
            GCP_PROJECT_ID=PROJECT,
            JWT_SECRET_KEY=self.jwt_key,
            FIRESTORE_DATABASE=database,
            PUBSUB_TOPIC=TOPIC,
            LOG_LEVEL="INFO",
            FUNCTION_TARGET=target,
        )
        env.update(overrides)
        return env

    def serve(self, target: str, **overrides: str) -> FunctionServer:
        """Start a warm function process (waits until it answers)."""
        server = FunctionServer(target, self.env(target, **overrides))
        self.servers.append(server)
        return server.start(timeout=60)

    def stop_all(self) -> None:
        """Stop every process this run started: functions first, then the emulators."""
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        for emulator in (self.firestore, self.pubsub):
            if emulator is not None:
                with contextlib.suppress(Exception):
                    emulator.stop()

    def phase(self, name: str, action: Callable[[], Any]) -> None:
        """Run one part of the benchmark; a failure is recorded and the rest still runs."""
        print(f"[bench] {name} …", file=sys.stderr, flush=True)
        self.results.setdefault("phase_loadavg", {})[name] = round(os.getloadavg()[0], 2)
        started = time.monotonic()
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - reported in the table and the JSON, then the next part runs
            traceback.print_exc()
            self.results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"[:2000]
        self.results.setdefault("phase_seconds", {})[name] = round(time.monotonic() - started, 1)

    # -- 6. machine

    def machine(self) -> None:
        """CPU, cores, Python and library versions, load average."""
        cpu = "unknown"
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        versions = {}
        for name in LIBRARIES:
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = "-"
        self.results["machine"] = {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "libraries": versions,
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        }

    # -- 1. imports and cold start

    def _python(self, args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[float, str, str]:
        """(wall seconds, stdout, stderr) of a fresh interpreter in the repository."""
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{args}: exit {done.returncode}: {done.stderr[-1500:]}")
        return elapsed, done.stdout, done.stderr

    BASELINES = {
        "python": "pass",
        "functions_framework": "import functions_framework",
        "firestore": "import google.cloud.firestore",
        "firestore+pubsub": "import google.cloud.firestore, google.cloud.pubsub_v1",
        "functions_framework+firestore": "import functions_framework, google.cloud.firestore",
        "functions_framework+firestore+pubsub": "import functions_framework, google.cloud.firestore, "
        "google.cloud.pubsub_v1",
    }

    def _baselines_once(self) -> dict[str, float]:
        """Wall seconds of one fresh interpreter per baseline program."""
        env = {**os.environ, **self.env("")}
        return {name: self._python(["-c", program], env)[0] for name, program in self.BASELINES.items()}

    def _import_us(self, program: str, module: str, env: dict[str, str]) -> tuple[int, list[importtime.ImportNode]]:
        """(cumulative microseconds, import forest) of `module` when a fresh interpreter runs `program`."""
        _wall, _out, err = self._python(["-X", "importtime", "-c", program], env)
        forest = importtime.parse(err.splitlines())
        return importtime.module_total_us(forest, module) or 0, forest

    def import_times(self) -> None:
        """Per target: `import main` on its own, and what main adds once functions_framework and the clients are in.

        The second is what a real cold process pays for our code: functions-framework
        is imported before main, and the client libraries on the first request.
        """
        report = {}
        for target in TARGETS:
            env = {**os.environ, **self.env(target)}
            clients = "google.cloud.firestore" + (", google.cloud.pubsub_v1" if target in NEEDS_PUBSUB else "")
            before = f"import functions_framework, {clients}; "
            own = f"functions.{target}"
            alone: list[int] = []
            added: list[int] = []
            own_added: list[int] = []
            per_package: dict[str, list[int]] = {}
            added_packages: dict[str, list[int]] = {}
            for _ in bounded(self.plan.import_runs, 90):
                us, forest = self._import_us("import main", "main", env)
                alone.append(us)
                for name, value in importtime.package_totals(forest).items():
                    per_package.setdefault(name, []).append(value)
                us, forest = self._import_us(before + "import main", "main", env)
                added.append(us)
                main_nodes = [node for node in forest if node.name == "main"]
                for name, value in importtime.package_totals(main_nodes).items():
                    added_packages.setdefault(name, []).append(value)
                # What a main.py importing only the target's own module would add.
                own_added.append(self._import_us(before + f"import {own}", own, env)[0])
            report[target] = {
                "main_cumulative_ms": round(statistics.median(alone) / 1000, 1),
                "heaviest": _median_heaviest(per_package, len(alone), 5),
                "main_after_framework_and_clients_ms": round(statistics.median(added) / 1000, 1),
                "heaviest_after_framework_and_clients": _median_heaviest(added_packages, len(added), 3),
                "own_module_after_framework_and_clients_ms": round(statistics.median(own_added) / 1000, 1),
            }
        self.results["import_main"] = report

    def prepare_tokens(self) -> None:
        """Accounts and tokens for the cold-start requests, made by a separate register process."""
        self.prep = self.serve("register", BCRYPT_ROUNDS="4")
        runs = self.plan.cold_runs * (1 + self.plan.warm_after_cold) + 4  # + in-process probe, import profile

        def register() -> dict[str, Any]:
            email = new_email()
            response = requests.post(self.prep.url, json={"email": email, "password": PASSWORD}, timeout=30)
            if response.status_code != 201:
                raise RuntimeError(f"prepare: register answered {response.status_code} {response.text[:200]}")
            return {"email": email, **response.json()}

        first = register()
        self.tokens.login_email = first["email"]
        self.tokens.refresh_token = first["refreshToken"]
        self.tokens.access_token = first["accessToken"]
        self.tokens.logout_tokens = [register()["refreshToken"] for _ in range(runs)]
        self.tokens.refresh_tokens = [register()["refreshToken"] for _ in range(runs)]

    def first_request(self, target: str) -> RequestSpec:
        """A fresh first request for `target` that must succeed."""
        tokens = self.tokens
        if target == "register":
            return RequestSpec.json_post({"email": new_email(), "password": PASSWORD}, 201)
        if target == "login":
            return RequestSpec.json_post({"email": tokens.login_email, "password": PASSWORD}, 200)
        if target == "refresh":
            return RequestSpec.json_post({"refreshToken": tokens.refresh_tokens.pop()}, 200)
        if target == "logout":
            return RequestSpec.json_post({"refreshToken": tokens.logout_tokens.pop()}, 204)
        if target in {"capture", "api"}:
            path = "/api/tweets/capture" if target == "api" else "/"
            spec = RequestSpec.json_post(tweet_body(), 200, path=path, token=tokens.access_token)
            return RequestSpec(spec.method, spec.path, spec.headers, spec.body, 200, {"status": "published"})
        if target == "health":
            return RequestSpec("GET", "/", {"Origin": ORIGIN}, "", 200, {"status": "healthy"})
        if target == "retry_queue":
            headers, body = tick_event()
            return RequestSpec("POST", "/", headers, body, 200)
        raise ValueError(target)

    def cold_env(self, target: str) -> dict[str, str]:
        """Cold-start settings: cheap bcrypt, so the first request measures start-up and not hashing."""
        return self.env(target, BCRYPT_ROUNDS="4", RATE_LIMIT_PER_MINUTE="100000")

    def first_request_imports(self) -> None:
        """Per target, in-process: which libraries the first request imported, and the heaviest of them."""
        report = {}
        for target in TARGETS:
            spec = self.first_request(target)
            env = {**os.environ, **self.cold_env(target)}
            _wall, out, err = self._python(["-X", "importtime", "-m", "devtools.firstrequest", spec.to_json()], env)
            line = next(line for line in out.splitlines() if line.startswith(RESULT_PREFIX))
            result = json.loads(line[len(RESULT_PREFIX) :])
            if result["status"] != spec.expect:
                raise RuntimeError(f"{target}: in-process first request answered {result['status']}")
            lines = err.splitlines()
            cut = lines.index(MARKER) if MARKER in lines else len(lines)
            lazy = importtime.parse(lines[cut + 1 :])
            report[target] = {
                "load_app_ms": round(result["load_app_s"] * 1000, 1),
                "first_request_ms": round(result["first_request_s"] * 1000, 1),
                "imported_by_first_response": result["imported_after_request"],
                "lazy_import_ms": round(sum(node.cumulative_us for node in lazy) / 1000, 1),
                "lazy_heaviest": [
                    [name, round(us / 1000, 1)] for name, us in importtime.heaviest(importtime.package_totals(lazy), 3)
                ],
            }
        self.results["first_request_in_process"] = report

    def _cold_once(self, target: str, profile: bool = False) -> dict[str, Any]:
        spec = self.first_request(target)
        env = self.cold_env(target)
        if profile:
            env["PYTHONPROFILEIMPORTTIME"] = "1"  # the process's imports, master and worker, go to its log
        server = FunctionServer(target, env)
        self.servers.append(server)
        try:
            server.spawn()
            assert server.process is not None  # noqa: S101 - spawned above
            deadline = time.monotonic() + 60
            while True:
                if server.process.poll() is not None:
                    raise RuntimeError(f"{target} exited: {server.output()[-1500:]}")
                try:
                    response = spec.send(server.url)
                except requests.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.005)
                    continue
                cold = time.perf_counter() - server.started_at
                spec.check(response)
                break
            if profile:
                return {"cold_s": cold, "forest": importtime.parse(server.output().splitlines())}
            warm = []
            for _ in range(self.plan.warm_after_cold):
                again = self.first_request(target)
                elapsed, response = timed(lambda again=again: again.send(server.url))
                again.check(response)
                warm.append(elapsed)
            handler = server_latencies(server.output())
            return {"cold_s": cold, "warm_s": warm, "first_handler_s": handler[0] if handler else None}
        finally:
            server.stop()
            self.servers.remove(server)

    def cold_starts(self) -> None:
        """Spawn-to-first-success per target, runs interleaved across targets."""
        runs: dict[str, list[dict[str, Any]]] = {target: [] for target in TARGETS}
        base_runs: dict[str, list[float]] = {name: [] for name in self.BASELINES}
        for _ in bounded(self.plan.cold_runs, 270):
            # Baselines in the same rounds as the cold starts, so load from elsewhere hits both alike.
            for name, seconds in self._baselines_once().items():
                base_runs[name].append(seconds)
            for target in TARGETS:
                runs[target].append(self._cold_once(target))
                time.sleep(0.2)
        baselines = self.results["baselines"] = {name: summarize(values) for name, values in base_runs.items()}
        report = {}
        for target, samples in runs.items():
            if not samples:
                continue
            cold = statistics.median(s["cold_s"] for s in samples) * 1000
            warm = statistics.median(w for s in samples for w in s["warm_s"]) * 1000 if samples[0]["warm_s"] else None
            handlers = [s["first_handler_s"] for s in samples if s["first_handler_s"] is not None]
            base_name = "firestore+pubsub" if target in NEEDS_PUBSUB else "firestore"
            base = baselines.get(base_name, {}).get("p50")
            base_min = baselines.get(base_name, {}).get("min")
            platform_floor = baselines.get(f"functions_framework+{base_name}", {}).get("p50")
            report[target] = {
                "cold_ms": round(cold, 1),
                "cold_runs_ms": [round(s["cold_s"] * 1000, 1) for s in samples],
                "warm_same_request_ms": round(warm, 1) if warm is not None else None,
                "first_handler_ms": round(statistics.median(handlers) * 1000, 1) if handlers else None,
                "baseline": base_name,
                "baseline_ms": base,
                "over_baseline_ms": round(cold - base, 1) if base is not None else None,
                "within_target": (cold - base) <= COLD_TARGET_MS if base is not None else None,
                "min_over_baseline_min_ms": round(min(s["cold_s"] for s in samples) * 1000 - base_min, 1)
                if base_min is not None
                else None,
                "functions_framework_and_clients_ms": platform_floor,
                "over_functions_framework_and_clients_ms": round(cold - platform_floor, 1) if platform_floor else None,
            }
        self.results["cold_start"] = report

    def cold_import_profile(self) -> None:
        """One more cold start per target under PYTHONPROFILEIMPORTTIME: every import the real process made."""
        report = {}
        for target in TARGETS:
            run = self._cold_once(target, profile=True)
            forest: list[importtime.ImportNode] = run["forest"]
            totals = importtime.package_totals(forest)
            report[target] = {
                "cold_ms_while_profiling": round(run["cold_s"] * 1000, 1),
                "imports_ms": round(sum(node.cumulative_us for node in forest) / 1000, 1),
                "heaviest": [[name, round(us / 1000, 1)] for name, us in importtime.heaviest(totals, 6)],
                "pubsub_imported": any(name.startswith("google.cloud.pubsub") for name in totals),
                "firestore_imported": any(name.startswith("google.cloud.firestore") for name in totals),
            }
        self.results["cold_import_profile"] = report

    # -- 2 and 3. capture latency, throughput, floor

    def _user(self) -> tuple[str, str]:
        """(user id, access token) of a fresh account, made by the prep process."""
        assert self.prep is not None  # noqa: S101 - prepare_tokens runs first
        response = requests.post(self.prep.url, json={"email": new_email(), "password": PASSWORD}, timeout=30)
        if response.status_code != 201:
            raise RuntimeError(f"register answered {response.status_code}")
        body = response.json()
        return body["userId"], body["accessToken"]

    def _use_backends_in_process(self, database: str, **overrides: str) -> None:
        """Point this process's shared.clients at the emulators with the given settings.

        The service's JSON log lines from in-process calls are dropped: stdout is the report's.
        """
        from shared import clients, config, logs

        for handler in logs.get_logger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(io.StringIO())
        os.environ.update(self.env("", database=database, **overrides))
        config.get_settings.cache_clear()
        clients.reset()

    def capture_and_floor(self) -> None:
        """Sequential captures interleaved with floor iterations, then preflights and throughput."""
        from shared import clients, ratelimit
        from shared.capture import mark_published, store_capture
        from shared.config import get_settings
        from shared.publish import PubSubPublisher, build_message
        from shared.schemas import TweetCapture
        from shared.store import dedup_key
        from shared.tokens import verify_access_token

        plan = self.plan
        server = self.serve("capture", RATE_LIMIT_PER_MINUTE="100000")
        user_id, token = self._user()
        self._use_backends_in_process(DATABASE, RATE_LIMIT_PER_MINUTE="100000")
        settings = get_settings()
        db = clients.firestore_client()
        publisher = PubSubPublisher.for_settings(clients.PUBLISHER, settings)

        def floor_once() -> dict[str, float]:
            tweet = tweet_body()
            now = datetime.now(UTC)
            message = build_message(user_id, tweet, now.date().isoformat())
            t0 = time.perf_counter()
            ratelimit.enforce_capture_limit(db, user_id, settings.rate_limit_per_minute, now)
            t1 = time.perf_counter()
            if not store_capture(db, user_id, tweet, now):
                raise RuntimeError("floor: tweet already stored")
            t2 = time.perf_counter()
            message_id = publisher.publish(message)
            t3 = time.perf_counter()
            mark_published(db, dedup_key(user_id, tweet["tweetId"]), message_id)
            t4 = time.perf_counter()
            return {"ratelimit": t1 - t0, "store": t2 - t1, "publish": t3 - t2, "settle": t4 - t3, "total": t4 - t0}

        # The same entry point in this process, on the same clients as the floor: no HTTP server.
        import functions_framework

        os.environ["FUNCTION_TARGET"] = "capture"
        in_process = functions_framework.create_app("capture", str(ROOT / "main.py")).test_client()
        os.environ["FUNCTION_TARGET"] = ""

        def in_process_once() -> float:
            spec = RequestSpec.json_post(tweet_body(), 200, token=token)
            data = spec.body.encode("utf-8")
            elapsed, response = timed(lambda: in_process.post("/", data=data, headers=spec.headers))
            if response.status_code != 200 or response.get_json().get("status") != "published":
                raise RuntimeError(f"in-process capture answered {response.status_code}")
            return elapsed

        session = requests.Session()
        # The latency the ratio is about: a lean keep-alive client, as the browser's native
        # fetch is, so the Python `requests` stack (about a millisecond) is not counted as ours.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

        def capture_once() -> float:
            spec = RequestSpec.json_post(tweet_body(), 200, token=token)
            data = spec.body.encode("utf-8")

            def exchange() -> tuple[int, bytes]:
                connection.request("POST", "/", body=data, headers=spec.headers)
                answer = connection.getresponse()
                return answer.status, answer.read()

            elapsed, (status, raw) = timed(exchange)
            if status != 200 or json.loads(raw).get("status") != "published":
                raise RuntimeError(f"capture answered {status} {raw[:200]!r}")
            return elapsed

        def capture_once_requests() -> float:
            spec = RequestSpec.json_post(tweet_body(), 200, token=token)
            elapsed, response = timed(lambda: spec.send(server.url, session))
            if response.status_code != 200 or response.json().get("status") != "published":
                raise RuntimeError(f"capture answered {response.status_code} {response.text[:200]}")
            return elapsed

        for _ in range(10):  # warm every path: connections, channels, caches
            capture_once()
            capture_once_requests()
            floor_once()
            in_process_once()
        log_start = len(server.output())
        captures: list[float] = []
        captures_requests: list[float] = []
        floors: list[dict[str, float]] = []
        in_process_captures: list[float] = []
        deadline = time.monotonic() + 150
        while len(captures) < plan.captures and time.monotonic() < deadline:
            # Round-robin, so load from elsewhere and the emulators' drift hit all three alike.
            captures.append(capture_once())
            captures_requests.append(capture_once_requests())
            floors.append(floor_once())
            in_process_captures.append(in_process_once())
        handler = server_latencies(server.output()[log_start:])

        preflight_headers = {
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        }
        preflights = []
        for _ in bounded(plan.preflights, 30):
            elapsed, response = timed(lambda: session.options(server.url, headers=preflight_headers, timeout=10))
            if response.status_code != 204:
                raise RuntimeError(f"preflight answered {response.status_code}")
            preflights.append(elapsed)
        session.close()
        connection.close()

        # What the handler does before its first Firestore call, in this process.
        schema = TweetCapture()
        body = tweet_body()
        jwt_checks = [timed(lambda: verify_access_token(token, settings.jwt_secret_key))[0] for _ in range(plan.micro)]
        loads = [timed(lambda: schema.load(body))[0] for _ in range(plan.micro)]

        floor_total = [f["total"] for f in floors]
        capture_p50 = percentile(captures, 50)
        floor_p50 = percentile(floor_total, 50)
        self.results["capture"] = {
            "sequential_ms": summarize(captures),
            "sequential_requests_ms": summarize(captures_requests),
            "server_handler_ms": summarize(handler),
            "in_process_ms": summarize(in_process_captures),
            "preflight_round_trip_ms": summarize(preflights),
            "jwt_verify_ms": summarize(jwt_checks),
            "schema_load_ms": summarize(loads),
        }
        self.results["floor"] = {
            "how": "shared.ratelimit.enforce_capture_limit, shared.capture.store_capture, "
            "shared.publish.PubSubPublisher.publish (shared.clients publisher, max_messages=1), "
            "shared.capture.mark_published - called in the bench process with a plain Firestore client",
            "total_ms": summarize(floor_total),
            **{f"{step}_ms": summarize([f[step] for f in floors]) for step in FLOOR_STEPS},
            "overhead_ratio": round(capture_p50 / floor_p50, 2),
            "in_process_ratio": round(percentile(in_process_captures, 50) / floor_p50, 2),
            "ratio_target": RATIO_TARGET,
        }
        self.throughput(server)

    def throughput(self, server: FunctionServer) -> None:
        """8 clients, each its own account and keep-alive session, sharing a fixed number of captures."""
        plan = self.plan
        users = [self._user()[1] for _ in range(plan.throughput_clients)]
        remaining = iter(range(plan.throughput_captures))
        lock = threading.Lock()
        latencies: list[float] = []
        failures: list[str] = []
        deadline = time.monotonic() + 120

        def client(token: str) -> None:
            with requests.Session() as session:
                while time.monotonic() < deadline:
                    with lock:
                        if next(remaining, None) is None:
                            return
                    spec = RequestSpec.json_post(tweet_body(), 200, token=token)
                    try:
                        elapsed, response = timed(lambda spec=spec: spec.send(server.url, session))
                    except requests.RequestException as exc:
                        failures.append(type(exc).__name__)
                        continue
                    with lock:
                        if response.status_code == 200 and response.json().get("status") == "published":
                            latencies.append(elapsed)
                        else:
                            failures.append(str(response.status_code))

        threads = [threading.Thread(target=client, args=(token,)) for token in users]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        self.results["throughput"] = {
            "clients": plan.throughput_clients,
            "captures": len(latencies),
            "failures": len(failures),
            "failure_kinds": sorted(set(failures)),
            "wall_s": round(wall, 2),
            "captures_per_s": round(len(latencies) / wall, 1),
            "latency_ms": summarize(latencies),
        }

    # -- 4. auth at bcrypt cost 12

    def auth_latency(self) -> None:
        """Register and log in at the default bcrypt cost (12), refresh; each against a warm process."""
        from shared import passwords

        plan = self.plan
        register = self.serve("register")
        login = self.serve("login")
        refresh = self.serve("refresh")
        emails: list[str] = []
        refresh_token = ""
        register_times: list[float] = []
        for index in bounded(plan.auth + 1, 60):
            email = new_email()
            spec = RequestSpec.json_post({"email": email, "password": PASSWORD}, 201)
            elapsed, response = timed(lambda spec=spec: spec.send(register.url))
            spec.check(response)
            emails.append(email)
            refresh_token = response.json()["refreshToken"]
            if index:  # the first is the warm-up
                register_times.append(elapsed)
        login_times: list[float] = []
        for index in bounded(len(emails), 60):
            spec = RequestSpec.json_post({"email": emails[index], "password": PASSWORD}, 200)
            elapsed, response = timed(lambda spec=spec: spec.send(login.url))
            spec.check(response)
            if index:
                login_times.append(elapsed)
        refresh_times: list[float] = []
        spec = RequestSpec.json_post({"refreshToken": refresh_token}, 200)
        with requests.Session() as session:
            for index in bounded(plan.refreshes + 1, 30):
                elapsed, response = timed(lambda spec=spec: spec.send(refresh.url, session))
                spec.check(response)
                # Rotation (the default) hands out the next token: use it, as a client does.
                spec = RequestSpec.json_post({"refreshToken": response.json().get("refreshToken", refresh_token)}, 200)
                if index:
                    refresh_times.append(elapsed)
        stored = passwords.hash_password(PASSWORD, 12)
        checks = [timed(lambda: passwords.verify_password(PASSWORD, stored))[0] for _ in range(plan.bcrypt_checks)]
        self.results["auth"] = {
            "bcrypt_rounds": 12,
            "register_ms": summarize(register_times),
            "login_ms": summarize(login_times),
            "refresh_ms": summarize(refresh_times),
            "bcrypt_check_in_process_ms": summarize(checks),
        }
        for server in (register, login, refresh):
            server.stop()

    # -- 5. Firestore operations per request

    def op_counts(self) -> None:
        """Reads, writes and deletes per request and path, counted on the wire, in-process."""
        import functions_framework

        from devtools.opcount import counted_firestore_client
        from shared import clients, config

        self._use_backends_in_process(OPS_DATABASE, BCRYPT_ROUNDS="4", RATE_LIMIT_PER_MINUTE="100000")
        db, counter = counted_firestore_client(PROJECT, OPS_DATABASE)
        clients.FIRESTORE.install(db)
        apps = {}
        for target in ("register", "login", "refresh", "logout", "capture", "health", "retry_queue"):
            os.environ["FUNCTION_TARGET"] = target
            apps[target] = functions_framework.create_app(target, str(ROOT / "main.py")).test_client()
        os.environ["FUNCTION_TARGET"] = ""
        cases: dict[str, Any] = {}

        def setting(values: dict[str, str]) -> None:
            os.environ.update(values)
            config.get_settings.cache_clear()

        def count(name: str, expect: int, action: Callable[[], Any], **fields: Any) -> Any:
            counter.reset()
            response = action()
            ops = counter.snapshot()
            body = response.get_json(silent=True) or {}
            ok = response.status_code == expect and all(body.get(k) == v for k, v in fields.items())
            cases[name] = {
                "status": response.status_code,
                "as_expected": ok,
                "reads": ops.get("reads", 0),
                "writes": ops.get("writes", 0),
                "deletes": ops.get("deletes", 0),
                "failed_commits": ops.get("failed_commits", 0),
                "rpcs": {k[4:]: v for k, v in sorted(ops.items()) if k.startswith("rpc:")},
            }
            return body

        def credentials(email: str, password: str = PASSWORD) -> dict[str, str]:
            return {"email": email, "password": password}

        email = new_email()
        registered = count("register", 201, lambda: apps["register"].post("/", json=credentials(email)))
        logged_in = count("login (success)", 200, lambda: apps["login"].post("/", json=credentials(email)))
        count("login (wrong password)", 401, lambda: apps["login"].post("/", json=credentials(email, "Wrong-Horse-9")))
        refresh_body = {"refreshToken": registered["refreshToken"]}
        count("refresh", 200, lambda: apps["refresh"].post("/", json=refresh_body))
        setting({"REFRESH_TOKEN_ROTATION": "true"})
        rotate_body = {"refreshToken": logged_in["refreshToken"]}
        count("refresh (rotation on)", 200, lambda: apps["refresh"].post("/", json=rotate_body))
        setting({"REFRESH_TOKEN_ROTATION": "false"})
        count("logout", 204, lambda: apps["logout"].post("/", json=refresh_body))
        count("health", 200, lambda: apps["health"].get("/"))
        tick_headers, tick = tick_event()
        count("retry_queue (empty queue)", 200, lambda: apps["retry_queue"].post("/", data=tick, headers=tick_headers))

        auth = {"Authorization": f"Bearer {registered['accessToken']}"}
        tweet = tweet_body()
        capture = apps["capture"]
        count("capture (published)", 200, lambda: capture.post("/", json=tweet, headers=auth), status="published")
        count("capture (duplicate)", 200, lambda: capture.post("/", json=tweet, headers=auth), status="duplicate")

        setting({"RATE_LIMIT_PER_MINUTE": "1"})
        for _ in range(3):  # a fresh account per try; retried only if a minute boundary fell between the two
            limited = apps["register"].post("/", json=credentials(new_email())).get_json()
            limited_auth = {"Authorization": f"Bearer {limited['accessToken']}"}
            capture.post("/", json=tweet_body(), headers=limited_auth)
            count("capture (rate-limited)", 429, lambda h=limited_auth: capture.post("/", json=tweet_body(), headers=h))
            if cases["capture (rate-limited)"]["status"] == 429:
                break
        setting({"RATE_LIMIT_PER_MINUTE": "100000"})

        # Pub/Sub unreachable for this instance only: a dead loopback port and a fresh publisher.
        # (discard_publisher, not reset(): reset would close the counted Firestore client.)
        pubsub_host = os.environ["PUBSUB_EMULATOR_HOST"]
        setting({"PUBSUB_EMULATOR_HOST": f"127.0.0.1:{free_port()}", "PUBLISH_TIMEOUT_SECONDS": "0.5"})
        clients.PUBLISHER.discard()
        queued = tweet_body()
        count("capture (queued)", 200, lambda: capture.post("/", json=queued, headers=auth), status="queued")
        setting({"PUBSUB_EMULATOR_HOST": pubsub_host, "PUBLISH_TIMEOUT_SECONDS": "3"})
        clients.PUBLISHER.discard()

        count("retry_queue (one due item)", 200, lambda: apps["retry_queue"].post("/", data=tick, headers=tick_headers))
        key = f"{registered['userId']}_{queued['tweetId']}"
        replayed = not db.collection("queue").document(key).get().exists
        cases["retry_queue (one due item)"]["as_expected"] &= replayed
        self.results["firestore_ops"] = cases
        clients.reset()

    # -- the whole run

    def run(self) -> None:
        """Every part in order; the emulators and all processes are stopped at the end whatever happens."""
        started = time.monotonic()
        self.results["plan"] = dataclasses.asdict(self.plan)
        self.results["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            self.machine()
            self.phase("emulators", self.start_emulators)
            if "errors" in self.results:
                return
            self.phase("import main", self.import_times)
            self.phase("prepare tokens", self.prepare_tokens)
            self.phase("first request in-process", self.first_request_imports)
            self.phase("cold starts", self.cold_starts)
            self.phase("cold start import profile", self.cold_import_profile)
            self.phase("capture and floor", self.capture_and_floor)
            self.phase("auth latency", self.auth_latency)
            self.phase("firestore ops", self.op_counts)
        finally:
            self.stop_all()
            self.results.setdefault("machine", {})["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
            self.results["total_seconds"] = round(time.monotonic() - started, 1)


# ---------------------------------------------------------------- the table


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str("-" if c is None else c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(padded))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _median_heaviest(samples: dict[str, list[int]], runs: int, count: int) -> list[list[Any]]:
    """The `count` third-party packages with the largest median cumulative time (ms) over `runs` runs."""
    medians = {name: statistics.median(v + [0] * (runs - len(v))) for name, v in samples.items()}
    ranked = sorted(((n, us) for n, us in medians.items() if n not in importtime.FIRST_PARTY), key=lambda i: -i[1])
    return [[name, round(us / 1000, 1)] for name, us in ranked[:count]]


def _packages(pairs: list[list[Any]] | None) -> str:
    return ", ".join(f"{name} {ms}" for name, ms in pairs or [])


def _p(stats: dict[str, Any] | None, key: str = "p50") -> Any:
    return (stats or {}).get(key)


def render(results: dict[str, Any]) -> str:
    """The human-readable report of a run."""
    out: list[str] = []
    machine = results.get("machine", {})
    libs = ", ".join(f"{k} {v}" for k, v in machine.get("libraries", {}).items())
    out.append(
        f"machine: {machine.get('cpu')}, {machine.get('cores')} cores, Python {machine.get('python')}; "
        f"load avg {machine.get('loadavg_start')} -> {machine.get('loadavg_end')}"
    )
    out.append(f"libraries: {libs}")
    out.append(f"total bench wall time: {results.get('total_seconds')} s  phases: {results.get('phase_seconds')}")

    base = results.get("baselines")
    if base:
        out.append("\n== Baselines: fresh interpreter, wall ms (p50 / min) ==")
        out.append("  " + "; ".join(f"{n}: {_p(s)} / {_p(s, 'min')}" for n, s in base.items()))

    cold = results.get("cold_start", {})
    imports = results.get("import_main", {})
    first = results.get("first_request_in_process", {})
    if cold or imports or first:
        runs = results.get("plan", {}).get("cold_runs")
        out.append(
            f"\n== 1. Cold start: spawn -> first successful response, median of {runs} "
            f"(BCRYPT_ROUNDS=4 here; target: <= baseline + {COLD_TARGET_MS:.0f} ms) =="
        )
        out.append(
            "   all ms. base: fresh `python -c 'import <clients>'` (fs = google.cloud.firestore, ps = pubsub_v1),"
            " measured in the same rounds; min-min: best cold run - best base run;\n   ff+base: base plus"
            " functions_framework; 1st handler: the first request's handler time"
            " (access log); warm: the same request again;\n   main: -X importtime of `import main` alone; main+ / own+:"
            " what `import main` / `import functions.<target>` add once functions_framework and the clients are"
            " imported;\n   fs@1st / ps@1st: client library in sys.modules after the first"
            " request (in-process)."
        )
        rows = []
        for target in TARGETS:
            c, f = cold.get(target, {}), first.get(target, {})
            imported = f.get("imported_by_first_response", {})
            rows.append(
                [
                    target,
                    c.get("cold_ms"),
                    min(c["cold_runs_ms"]) if c.get("cold_runs_ms") else None,
                    {"firestore": "fs", "firestore+pubsub": "fs+ps"}.get(c.get("baseline", "")),
                    c.get("baseline_ms"),
                    c.get("over_baseline_ms"),
                    {True: "yes", False: "NO"}.get(c.get("within_target")),
                    c.get("min_over_baseline_min_ms"),
                    c.get("functions_framework_and_clients_ms"),
                    c.get("over_functions_framework_and_clients_ms"),
                    c.get("first_handler_ms"),
                    c.get("warm_same_request_ms"),
                    imports.get(target, {}).get("main_cumulative_ms"),
                    imports.get(target, {}).get("main_after_framework_and_clients_ms"),
                    imports.get(target, {}).get("own_module_after_framework_and_clients_ms"),
                    {True: "yes", False: "no"}.get(imported.get("google.cloud.firestore")),
                    {True: "yes", False: "no"}.get(imported.get("google.cloud.pubsub_v1")),
                ]
            )
        out.append(_table(COLD_HEADERS, rows))
        out.append("  runs (ms): " + "; ".join(f"{t} {cold[t]['cold_runs_ms']}" for t in TARGETS if t in cold))
        profile = results.get("cold_import_profile", {})
        out.append("\n   Imports per target (cumulative ms of the heaviest packages):")
        for target in TARGETS:
            main_imports = imports.get(target, {})
            f, p = first.get(target, {}), profile.get(target, {})
            out.append(
                f"  {target:<12} import main {main_imports.get('main_cumulative_ms')} ms: "
                + _packages(main_imports.get("heaviest"))
                + f"; after functions_framework and clients {main_imports.get('main_after_framework_and_clients_ms')}"
                " ms: " + _packages(main_imports.get("heaviest_after_framework_and_clients"))
            )
            out.append(
                f"  {'':<12} in-process: load app {f.get('load_app_ms')} ms, first request {f.get('first_request_ms')}"
                f" ms, of which lazy imports {f.get('lazy_import_ms')} ms: " + _packages(f.get("lazy_heaviest"))
            )
            if p:
                out.append(
                    f"  {'':<12} real process, all imports {p['imports_ms']} ms (cold {p['cold_ms_while_profiling']} "
                    f"ms while profiling; pubsub imported: {'yes' if p['pubsub_imported'] else 'no'}): "
                    + _packages(p["heaviest"])
                )

    capture = results.get("capture")
    floor = results.get("floor")
    if capture and floor:
        out.append("\n== 2. Capture (sequential, keep-alive; RATE_LIMIT_PER_MINUTE=100000) and 3. its floor ==")
        quantiles = ("n", "p50", "p95", "p99")
        rows = [
            [label, *(_p(stats, k) for k in quantiles)]
            for label, stats in (
                ("capture, client-side (http.client)", capture["sequential_ms"]),
                ("capture, client-side (requests)", capture["sequential_requests_ms"]),
                ("capture, server handler (access log)", capture["server_handler_ms"]),
                ("capture in-process (test client, no HTTP)", capture["in_process_ms"]),
                ("floor: all four calls", floor["total_ms"]),
                ("  (a) rate-limit increment commit", floor["ratelimit_ms"]),
                ("  (b) create tweet + queue item", floor["store_ms"]),
                ("  (c) publish + result()", floor["publish_ms"]),
                ("  (d) update tweet + delete item", floor["settle_ms"]),
                ("preflight OPTIONS round trip", capture["preflight_round_trip_ms"]),
                ("JWT verify, in-process", capture["jwt_verify_ms"]),
                ("schema load, in-process", capture["schema_load_ms"]),
            )
        ]
        out.append(_table(["", *quantiles], rows))
        ratio = floor["overhead_ratio"]
        verdict = "met" if ratio <= RATIO_TARGET else "NOT met"
        out.append(f"  overhead ratio = capture p50 / floor p50 = {ratio} (target <= {RATIO_TARGET}: {verdict})")
        out.append(f"  in-process capture p50 / floor p50 = {floor['in_process_ratio']}")
        out.append(f"  floor = {floor['how']}")
    tp = results.get("throughput")
    if tp:
        out.append(
            f"  throughput: {tp['clients']} clients, {tp['captures']} captures in {tp['wall_s']} s = "
            f"{tp['captures_per_s']} captures/s (latency p50 {_p(tp['latency_ms'])} ms, "
            f"p95 {_p(tp['latency_ms'], 'p95')} ms; failures {tp['failures']} {tp['failure_kinds']})"
        )

    auth = results.get("auth")
    if auth:
        out.append("\n== 4. Auth against warm processes (bcrypt cost 12) ==")
        rows = [
            [name, *(_p(auth[key], k) for k in ("n", "p50", "p95", "max"))]
            for name, key in (
                ("register", "register_ms"),
                ("login", "login_ms"),
                ("refresh", "refresh_ms"),
                ("bcrypt checkpw cost 12, in-process", "bcrypt_check_in_process_ms"),
            )
        ]
        out.append(_table(["", "n", "p50 ms", "p95 ms", "max ms"], rows))

    ops = results.get("firestore_ops")
    if ops:
        out.append("\n== 5. Firestore operations per request (counted on the wire, in-process) ==")
        rows = [
            [name, c["status"], "yes" if c["as_expected"] else "NO", c["reads"], c["writes"], c["deletes"],
             c["failed_commits"], " ".join(f"{k}={v}" for k, v in c["rpcs"].items())]
            for name, c in ops.items()
        ]  # fmt: skip
        out.append(_table(["case", "status", "ok", "reads", "writes", "deletes", "failed commits", "RPCs"], rows))

    for name, error in results.get("errors", {}).items():
        out.append(f"\nERROR in {name}: {error}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON file; 1 if any part failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few iterations, for trying the benchmark out")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results.json", help="where the JSON goes")
    args = parser.parse_args(argv)
    bench = Bench(QUICK if args.quick else Plan())
    try:
        bench.run()
    finally:
        args.output.write_text(json.dumps(bench.results, indent=2, default=str) + "\n")
    print(render(bench.results))
    print(f"\n(results written to {args.output.name})")
    return 1 if bench.results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
