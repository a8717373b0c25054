"""What every measurement shares: the plan, the emulators, the function processes and the results so far."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from devtools.emulators import Emulator, start_pair
from devtools.opscenarios import PASSWORD
from devtools.samples import new_email
from devtools.server import ROOT, FunctionServer, server_env
from shared.web.endpoints import ENDPOINTS

PROJECT = "demo-bench"
TOPIC = "tweet-likes-raw"
DATABASE = "bench"
ORIGIN = "chrome-extension://" + "abcdefghijklmnopabcdefghijklmnop"
# Every entry point of main.py, in the order they are declared.
TARGETS: tuple[str, ...] = tuple(e.entry_point for e in ENDPOINTS if e.entry_point)


@dataclass(frozen=True)
class Plan:
    """How many iterations each measurement takes."""

    cold_runs: int = 5
    warm_after_cold: int = 3
    captures: int = 300
    throughput_captures: int = 400
    throughput_clients: int = 8
    preflights: int = 100
    auth: int = 15
    refreshes: int = 50
    micro: int = 1000
    bcrypt_checks: int = 3
    batches: int = 60
    throughput_batches: int = 80
    lookups: int = 100
    listing_items: int = 10_000
    listing_passes: int = 3


QUICK = Plan(
    cold_runs=2, warm_after_cold=2, captures=60,
    throughput_captures=80, preflights=30, auth=4, refreshes=10, micro=200, bcrypt_checks=2,
    batches=10, throughput_batches=16, lookups=20, listing_items=2000, listing_passes=1,
)  # fmt: skip


@dataclass
class Tokens:
    """Accounts and tokens prepared through a register process before the cold starts."""

    login_email: str = ""
    refresh_token: str = ""
    access_token: str = ""
    logout_tokens: list[str] = field(default_factory=list)
    refresh_tokens: list[str] = field(default_factory=list)  # one session per run: rotation retires a used token


class Run:
    """One benchmark run: its emulators, the processes it started and the results so far."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.jwt_key = secrets.token_urlsafe(48)
        self.emulators: tuple[Emulator, ...] = ()
        self.servers: list[FunctionServer] = []
        self.results: dict[str, Any] = {}
        self.tokens = Tokens()
        self._registrar: FunctionServer | None = None

    def start_emulators(self) -> None:
        """Start both emulators side by side on free loopback ports and create the topic."""
        self.emulators = start_pair(PROJECT, TOPIC)
        os.environ.update(self.backend_env())

    def backend_env(self) -> dict[str, str]:
        """The emulator variables of this run."""
        return {emulator.env_var: emulator.host for emulator in self.emulators}

    def env(self, target: str, database: str = DATABASE, **overrides: str) -> dict[str, str]:
        """A function's environment: every setting explicit (blank = default), then `overrides`."""
        return server_env(
            self.backend_env(),
            PROJECT,
            self.jwt_key,
            FIRESTORE_DATABASE=database,
            PUBSUB_TOPIC=TOPIC,
            FUNCTION_TARGET=target,
            **overrides,
        )

    def server(self, target: str, env: Mapping[str, str]) -> FunctionServer:
        """A function process (not started yet) that `stop_all` will stop."""
        server = FunctionServer(target, env)
        self.servers.append(server)
        return server

    def serve(self, target: str, **overrides: str) -> FunctionServer:
        """Start a warm function process (waits until it answers)."""
        return self.server(target, self.env(target, **overrides)).start(timeout=60)

    def stop(self, server: FunctionServer) -> None:
        """Stop one function process of this run."""
        server.stop()
        if server in self.servers:
            self.servers.remove(server)

    def stop_all(self) -> None:
        """Stop every process this run started: functions first, then the emulators."""
        for process in [*self.servers, *self.emulators]:
            with contextlib.suppress(Exception):
                process.stop()

    def python(self, args: list[str], env: Mapping[str, str], timeout: float = 60) -> tuple[float, str, str]:
        """(wall seconds, stdout, stderr) of a fresh interpreter in the repository."""
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{args}: exit {done.returncode}: {done.stderr[-1500:]}")
        return elapsed, done.stdout, done.stderr

    def register_account(self, email: str | None = None) -> dict[str, Any]:
        """A fresh account made by a register process of this run (cheap bcrypt); its e-mail and tokens."""
        if self._registrar is None:
            self._registrar = self.serve("register", BCRYPT_ROUNDS="4")
        email = email or new_email()
        response = requests.post(self._registrar.url, json={"email": email, "password": PASSWORD}, timeout=30)
        if response.status_code != 201:
            raise RuntimeError(f"register answered {response.status_code} {response.text[:200]}")
        return {"email": email, **response.json()}

    def use_backends_in_process(self, database: str, **overrides: str) -> None:
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


Phase = tuple[str, Callable[[Run], None]]


@dataclass(frozen=True)
class Measurement:
    """One part of the benchmark: the phases that measure it and the section of the report that shows it."""

    phases: tuple[Phase, ...]
    render: Callable[[Mapping[str, Any]], list[str]]
