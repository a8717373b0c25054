"""Failed-login limits on the Firestore emulator: a stranger is slowed and blocked, the owner never locked out.

The long sequences call shared.accounts.auth.login with a simulated clock (the same
code the login function runs, on the real emulator), so minutes of back-off take
no time; the short ones go through the login entry point with X-Forwarded-For.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared import counters
from shared.accounts import login_limits
from tests.support import STRONG_PASSWORD, attempt_login, function_client, login_window_start, new_email, register

WRONG = "Wrong-Password-1"


def _post(client: Any, email: str, password: str, forwarded_for: str) -> Any:
    return client.post("/", json={"email": email, "password": password}, headers={"X-Forwarded-For": forwarded_for})


def test_an_address_that_keeps_failing_is_slowed_then_blocked(db: Any) -> None:
    """5 free failures, then waits of 1, 2, 4, 8, 16, 30 s between attempts, then refused until the window ends."""
    email = new_email()
    register(email=email)
    attacker = "203.0.113.66"
    now = login_window_start()
    waits = []
    failures = 0
    while True:
        status, retry_after = attempt_login(db, email, WRONG, attacker, now)
        if status == 401:
            failures += 1
            continue
        assert status == 429 and retry_after is not None
        if failures >= login_limits.ADDRESS_BLOCK_FAILURES:
            break
        waits.append(retry_after)
        # Too early by a second: still refused, and not counted as a failure.
        assert attempt_login(db, email, WRONG, attacker, now + timedelta(seconds=retry_after - 1))[0] == 429
        now += timedelta(seconds=retry_after)
    assert failures == 20
    assert waits == [1, 2, 4, 8, 16] + [30] * 10
    window_end = login_window_start() + timedelta(seconds=login_limits.LOGIN_WINDOW_SECONDS)
    assert retry_after == int((window_end - now).total_seconds())
    # Blocked: even the right password from that address waits for the window's end.
    assert attempt_login(db, email, STRONG_PASSWORD, attacker, now + timedelta(seconds=60))[0] == 429
    assert attempt_login(db, email, STRONG_PASSWORD, attacker, window_end)[0] == 200


def test_an_attackers_failures_never_lock_the_owner_out(db: Any) -> None:
    """With the attacker's address blocked, the owner's correct password from another address logs in at once."""
    email = new_email()
    register(email=email)
    attacker, owner = "203.0.113.66", "198.51.100.20"
    now = login_window_start()
    failures = 0
    while failures < login_limits.ADDRESS_BLOCK_FAILURES:
        status, retry_after = attempt_login(db, email, WRONG, attacker, now)
        if status == 401:
            failures += 1
        else:
            now += timedelta(seconds=retry_after or 1)
    assert attempt_login(db, email, WRONG, attacker, now)[0] == 429
    assert attempt_login(db, email, STRONG_PASSWORD, owner, now) == (200, None)


def test_one_address_can_never_reach_the_per_email_threshold() -> None:
    """An address is blocked long before the e-mail's limit starts: one attacker cannot make the e-mail wait."""
    assert login_limits.ADDRESS_BLOCK_FAILURES * 5 <= login_limits.EMAIL_FREE_FAILURES


def test_many_addresses_meet_growing_delays_at_one_email_never_a_lock(db: Any) -> None:
    """From the 100th failure at one e-mail, a failing address waits 1, 2, 4 ... 60 s; the owner's address never."""
    email = new_email()
    register(email=email)
    now = login_window_start()
    for i in range(login_limits.EMAIL_FREE_FAILURES):
        assert attempt_login(db, email, WRONG, f"198.18.{i // 4}.{i % 4 + 1}", now)[0] == 401
    waits = []
    for i in range(10):
        status, retry_after = attempt_login(db, email, STRONG_PASSWORD, "198.18.0.1", now)  # an address that failed
        assert status == 429 and retry_after is not None
        waits.append(retry_after)
        assert attempt_login(db, email, STRONG_PASSWORD, f"192.0.2.{i + 1}", now) == (200, None)  # a clean one: at once
        now += timedelta(seconds=retry_after)
        assert attempt_login(db, email, WRONG, f"198.19.0.{i + 1}", now)[0] == 401  # a fresh address guesses
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    # However long the attack goes on, even a failing address waits at most 60 s after the last guess.
    assert attempt_login(db, email, STRONG_PASSWORD, "198.18.0.1", now + timedelta(seconds=60)) == (200, None)


def test_through_the_entry_point_the_owner_logs_in_while_the_attacker_is_slowed() -> None:
    """After 5 failures from one address its next try is a 429 with Retry-After; the owner elsewhere gets 200."""
    email = new_email()
    register(email=email)
    client = function_client("login")
    for _ in range(login_limits.ADDRESS_FREE_FAILURES):
        assert _post(client, email, WRONG, "203.0.113.66").status_code == 401
    slowed = _post(client, email, STRONG_PASSWORD, "203.0.113.66")
    assert slowed.status_code == 429 and 1 <= int(slowed.headers["Retry-After"]) <= 2
    assert slowed.mimetype == "application/problem+json"
    assert _post(client, email, STRONG_PASSWORD, "198.51.100.20").status_code == 200


@pytest.mark.parametrize(
    ("hops", "spellings", "elsewhere"),
    [
        # Spoofed left-hand entries change nothing: the right-most entry is the front end's.
        ("1", [f"10.9.8.{i}, 203.0.113.66" for i in range(6)], "1.2.3.4, 203.0.113.67"),
        # Behind a load balancer: client, then the balancer's own address.
        ("2", [f"10.9.8.{i}, 203.0.113.66, 198.51.100.{i}" for i in range(6)], "203.0.113.67, 198.51.100.1"),
        # One IPv6 subscriber's /64 is one bucket.
        ("1", [f"2001:db8:1:2::{i:x}" for i in range(1, 7)], "2001:db8:1:3::1"),
        # Garbage in the trusted entry: one shared bucket, never one the client picks.
        ("1", ["not-an-ip", "999.1.1.1", "::g", "1.2.3", "x, y", "203.0.113.66, bogus"], "203.0.113.67"),
    ],
    ids=["spoofed-left", "two-hops", "ipv6-64", "garbage"],
)
def test_the_address_bucket_is_what_the_front_end_saw(
    setenv: Any, hops: str, spellings: list[str], elsewhere: str
) -> None:
    """Six failures under six spellings of one client share a bucket (the sixth is slowed); another client is not."""
    setenv(TRUSTED_PROXY_HOPS=hops)
    client = function_client("login")
    statuses = [_post(client, new_email(), WRONG, spelling).status_code for spelling in spellings]
    assert statuses == [401] * 5 + [429]
    assert _post(client, new_email(), WRONG, elsewhere).status_code == 401


def test_a_success_does_not_restart_the_wait_of_its_network_or_email(db: Any) -> None:
    """After 5 failures, a success 1 s later leaves lastFailureAt at the last failure: a second login at once is 200."""
    email = new_email()
    register(email=email)
    address = "203.0.113.71"
    now = login_window_start()
    for _ in range(login_limits.ADDRESS_FREE_FAILURES):
        assert attempt_login(db, email, WRONG, address, now)[0] == 401
    later = now + timedelta(seconds=1)  # the 1 s wait after the 5th failure is over
    assert attempt_login(db, email, STRONG_PASSWORD, address, later) == (200, None)
    assert attempt_login(db, email, STRONG_PASSWORD, address, later) == (200, None)
    windows = [
        counters.window(prefix, subject, now, login_limits.LOGIN_WINDOW_SECONDS)
        for prefix, subject in (("login-ip", address), ("login-email", email))
    ]
    stored = [counters.counter(db, window).get().to_dict() for window in windows]
    assert [(doc["count"], doc["lastFailureAt"]) for doc in stored] == [(5, now), (5, now)]


def test_a_give_back_meanwhile_is_not_an_overtaking(db: Any, monkeypatch: Any) -> None:
    """A success giving its place back between an attempt's read and its reservation does not make it a 429."""
    email = new_email()
    register(email=email)
    address = "203.0.113.72"
    now = login_window_start()
    network = counters.window("login-ip", address, now, login_limits.LOGIN_WINDOW_SECONDS)
    batch = db.batch()  # 5 failures long ago, and one attempt in flight
    counters.add(db, batch, network, login_limits.ADDRESS_FREE_FAILURES + 1, lastFailureAt=now - timedelta(minutes=1))
    batch.commit()
    real_read = counters.read

    def read_then_the_other_attempt_succeeds(db: Any, windows: list[Any]) -> list[Any]:
        snapshots = real_read(db, windows)
        give_back = db.batch()
        login_limits.Attempt((network,)).give_back(db, give_back)
        give_back.commit()
        return snapshots

    monkeypatch.setattr(counters, "read", read_then_the_other_attempt_succeeds)
    assert attempt_login(db, email, STRONG_PASSWORD, address, now) == (200, None)
