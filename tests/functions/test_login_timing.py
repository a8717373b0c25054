"""Login timing tells no account apart: every refusing path but the limiter's costs one bcrypt check.

A refusal by the failed-login limits (429) costs none: whether an attempt is limited
does not depend on whether the account exists (tests/functions/test_owner_always_gets_in.py).
Counted first (exactly one bcrypt check per refused login, whatever the reason),
then timed: ratios of interleaved samples, measured in one run. bcrypt at cost 10
(about 60 ms here) dominates the few milliseconds of Firestore calls; each sample
is divided by its own round's median, so a burst of load on this shared machine
weighs on every path of that round alike, and the bound (1/3 to 3) is loose
enough for noise while a path that skipped bcrypt would sit near 0.05.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
from typing import Any

from shared.db import USERS
from tests.support import STRONG_PASSWORD, count_bcrypt_checks, function_client, new_email, register

ROUNDS = "10"
SAMPLES = 7


def test_every_refusing_login_path_takes_as_long_as_a_wrong_password(setenv: Any, db: Any, monkeypatch: Any) -> None:
    """Unknown e-mail, wrong, over-long password and disabled account: one bcrypt check each, alike in time."""
    setenv(BCRYPT_ROUNDS=ROUNDS)
    checks = count_bcrypt_checks(monkeypatch)
    known, disabled = new_email(), new_email()
    register(email=known)
    db.collection(USERS).document(register(email=disabled)["userId"]).update({"isActive": False})
    client = function_client("login")
    fresh_addresses = (f"198.51.100.{i}" for i in itertools.count(1))  # no path is slowed by its own failures
    paths: dict[str, tuple[dict[str, str], str, int]] = {
        "unknown e-mail": ({"email": new_email(), "password": "Wrong-Password-1"}, "", 401),
        "wrong password": ({"email": known, "password": "Wrong-Password-1"}, "", 401),
        "over-long password": ({"email": known, "password": "Aa1" + "é" * 40}, "", 401),
        "disabled account": ({"email": disabled, "password": STRONG_PASSWORD}, "", 403),
    }
    samples: dict[str, list[float]] = {name: [] for name in paths}
    relative: dict[str, list[float]] = {name: [] for name in paths}
    client.post("/", json=paths["unknown e-mail"][0], headers={"X-Forwarded-For": next(fresh_addresses)})  # warm-up
    for _ in range(SAMPLES):
        order = list(paths)
        random.shuffle(order)
        round_times: dict[str, float] = {}
        for name in order:
            body, address, status = paths[name]
            headers = {"X-Forwarded-For": address or next(fresh_addresses)}
            checks.clear()
            started = time.perf_counter()
            response = client.post("/", json=body, headers=headers)
            round_times[name] = time.perf_counter() - started
            assert response.status_code == status, (name, response.get_json())
            assert len(checks) == 1, f"{name}: {len(checks)} bcrypt checks"
        middle = statistics.median(round_times.values())
        for name, seconds in round_times.items():
            samples[name].append(seconds)
            relative[name].append(seconds / middle)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    ratios = {name: statistics.median(values) for name, values in relative.items()}
    report = ", ".join(f"{name} {medians[name] * 1000:.0f} ms ({ratios[name]:.2f})" for name in paths)
    print(f"login medians at bcrypt cost {ROUNDS} (and relative to their rounds): {report}")
    for (a, ra), (b, rb) in itertools.combinations(ratios.items(), 2):
        assert 1 / 3 <= ra / rb <= 3, f"{a} / {b} = {ra / rb:.2f}; {report}"
