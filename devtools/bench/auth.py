"""4. Auth latency: register and log in at the default bcrypt cost (12), refresh; each against a warm process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from devtools.bench.context import Measurement, Run
from devtools.bench.report import p, table
from devtools.bench.request import RequestSpec
from devtools.bench.stats import bounded, summarize, timed
from devtools.opscenarios import PASSWORD
from devtools.samples import new_email
from devtools.server import FunctionServer

ROWS = (
    ("register", "register_ms"),
    ("login", "login_ms"),
    ("refresh", "refresh_ms"),
    ("bcrypt checkpw cost 12, in-process", "bcrypt_check_in_process_ms"),
)


def _timed_send(spec: RequestSpec, url: str, session: requests.Session | None = None) -> tuple[float, Any]:
    """(seconds, JSON body) of one request that must succeed."""
    elapsed, response = timed(lambda: spec.send(url, session))
    spec.check(response)
    return elapsed, response.json() if response.content else {}


def _registers(server: FunctionServer, count: int) -> tuple[list[float], list[str], str]:
    """(seconds of each register after a warm-up, the e-mails, the last refresh token)."""
    times: list[float] = []
    emails: list[str] = []
    refresh_token = ""
    for index in bounded(count + 1, 60):
        email = new_email()
        elapsed, body = _timed_send(RequestSpec.json_post({"email": email, "password": PASSWORD}, 201), server.url)
        emails.append(email)
        refresh_token = body["refreshToken"]
        if index:  # the first is the warm-up
            times.append(elapsed)
    return times, emails, refresh_token


def _logins(server: FunctionServer, emails: list[str]) -> list[float]:
    """Seconds of each login after the first."""
    times = []
    for index in bounded(len(emails), 60):
        spec = RequestSpec.json_post({"email": emails[index], "password": PASSWORD}, 200)
        elapsed, _body = _timed_send(spec, server.url)
        if index:
            times.append(elapsed)
    return times


def _refreshes(server: FunctionServer, refresh_token: str, count: int) -> list[float]:
    """Seconds of each refresh after the first, over one keep-alive session."""
    spec = RequestSpec.json_post({"refreshToken": refresh_token}, 200)
    times = []
    with requests.Session() as session:
        for index in bounded(count + 1, 30):
            elapsed, body = _timed_send(spec, server.url, session)
            # Rotation (the default) hands out the next token: use it, as a client does.
            spec = RequestSpec.json_post({"refreshToken": body.get("refreshToken", refresh_token)}, 200)
            if index:
                times.append(elapsed)
    return times


def auth_latency(run: Run) -> None:
    """Register and log in at the default bcrypt cost (12), refresh; each against a warm process."""
    from shared.accounts import passwords

    register, login, refresh = (run.serve(target) for target in ("register", "login", "refresh"))
    register_times, emails, refresh_token = _registers(register, run.plan.auth)
    stored = passwords.hash_password(PASSWORD, 12)
    run.results["auth"] = {
        "bcrypt_rounds": 12,
        "register_ms": summarize(register_times),
        "login_ms": summarize(_logins(login, emails)),
        "refresh_ms": summarize(_refreshes(refresh, refresh_token, run.plan.refreshes)),
        "bcrypt_check_in_process_ms": summarize(
            [timed(lambda: passwords.verify_password(PASSWORD, stored))[0] for _ in range(run.plan.bcrypt_checks)]
        ),
    }
    for server in (register, login, refresh):
        run.stop(server)


def render(results: Mapping[str, Any]) -> list[str]:
    """Section 4 of the report."""
    auth = results.get("auth")
    if not auth:
        return []
    rows = [[name, *(p(auth[key], k) for k in ("n", "p50", "p95", "max"))] for name, key in ROWS]
    return [
        "\n== 4. Auth against warm processes (bcrypt cost 12) ==",
        table(["", "n", "p50 ms", "p95 ms", "max ms"], rows),
    ]


MEASUREMENT = Measurement(phases=(("auth latency", auth_latency),), render=render)
