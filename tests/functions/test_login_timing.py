"""Login timing tells no account apart: every refusing path costs one bcrypt check.

A ratio of medians of interleaved samples, measured in one run (the issue asks
for it): bcrypt at cost 10 (about 60 ms here) dominates the few milliseconds of
Firestore calls, and interleaving puts the machine's noise into every path alike.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import ratelimit, store
from tests.support import STRONG_PASSWORD, function_client, new_email, register

ROUNDS = "10"
SAMPLES = 7


def test_every_refusing_login_path_takes_as_long_as_a_wrong_password(setenv: Any, db: Any) -> None:
    """Unknown e-mail, wrong, over-long, disabled and rate-limited logins: medians within 0.5-2 of each other."""
    setenv(BCRYPT_ROUNDS=ROUNDS)
    known, disabled = new_email(), new_email()
    register(email=known)
    db.collection(store.USERS).document(register(email=disabled)["userId"]).update({"isActive": False})
    blocked_address = "192.0.2.66"
    now = datetime.now(UTC)
    for moment in (now, now + timedelta(minutes=1)):  # blocked even if a window ends mid-test
        for _ in range(ratelimit.ADDRESS_BLOCK_FAILURES):
            ratelimit.record_login_failure(db, known, blocked_address, moment)
    client = function_client("login")
    fresh_addresses = (f"198.51.100.{i}" for i in itertools.count(1))  # no path is slowed by its own failures
    paths: dict[str, tuple[dict[str, str], str, int]] = {
        "unknown e-mail": ({"email": new_email(), "password": "Wrong-Password-1"}, "", 401),
        "wrong password": ({"email": known, "password": "Wrong-Password-1"}, "", 401),
        "over-long password": ({"email": known, "password": "Aa1" + "é" * 40}, "", 401),
        "disabled account": ({"email": disabled, "password": STRONG_PASSWORD}, "", 403),
        "rate limited": ({"email": known, "password": STRONG_PASSWORD}, blocked_address, 429),
    }
    samples: dict[str, list[float]] = {name: [] for name in paths}
    client.post("/", json=paths["unknown e-mail"][0], headers={"X-Forwarded-For": next(fresh_addresses)})  # warm-up
    for _ in range(SAMPLES):
        order = list(paths)
        random.shuffle(order)
        for name in order:
            body, address, status = paths[name]
            headers = {"X-Forwarded-For": address or next(fresh_addresses)}
            started = time.perf_counter()
            response = client.post("/", json=body, headers=headers)
            samples[name].append(time.perf_counter() - started)
            assert response.status_code == status, (name, response.get_json())
    medians = {name: statistics.median(values) for name, values in samples.items()}
    report = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in medians.items())
    print(f"login medians at bcrypt cost {ROUNDS}: {report}")
    for (a, ta), (b, tb) in itertools.combinations(medians.items(), 2):
        assert 0.5 <= ta / tb <= 2, f"{a} / {b} = {ta / tb:.2f}; {report}"
