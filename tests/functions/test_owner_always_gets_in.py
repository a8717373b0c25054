"""The owner always gets in, and refusing a login costs nothing.

IPv6 networks are counted whole, a stranger's wait never holds a clean address,
parallel guesses cannot pass the limit, and a refusal costs no bcrypt check and no write.

Long sequences call shared.accounts.auth.login with a simulated clock (the code the login
function runs, on the real emulator); the rest goes through the login entry point.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.opscenarios import Counting
from shared import counters
from shared.accounts import login_limits
from shared.db import USERS
from tests.support import (
    STRONG_PASSWORD,
    attempt_login,
    count_bcrypt_checks,
    function_client,
    login_window_start,
    new_email,
    register,
)

WRONG = "Wrong-Password-1"


def _failures_recorded(db: Any, address: str, count: int, last: datetime) -> None:
    """Put `count` failures, the last at `last`, on an IPv4 address's counter of the current window."""
    window = counters.window("login-ip", address, datetime.now(UTC), login_limits.LOGIN_WINDOW_SECONDS)
    batch = db.batch()
    counters.add(db, batch, window, count, lastFailureAt=last)
    batch.commit()


def _clear_of_window_end(margin: float = 20.0) -> None:
    """Wait for the next 15-minute window when the current one ends within `margin` seconds."""
    left = login_limits.LOGIN_WINDOW_SECONDS - time.time() % login_limits.LOGIN_WINDOW_SECONDS
    if left < margin:
        time.sleep(left + 0.5)


def test_guesses_spread_over_the_64s_of_one_48_share_its_budget(db: Any) -> None:
    """100 guesses at once from 21 /64s in one /48 (each in its own /56): only the /48's 20 free ones are checked."""
    email = new_email()
    register(email=email)
    now = login_window_start()
    statuses = [attempt_login(db, email, WRONG, f"2001:db8:7:{i % 21:02x}00::1", now)[0] for i in range(100)]
    assert statuses.count(401) == login_limits.ADDRESS_FREE_FAILURES * 4
    assert set(statuses[20:]) == {429}


def test_a_48_waiting_out_every_delay_gets_few_checks_in_a_window(db: Any) -> None:
    """Waiting out every delay from fresh /64s of one /48, an attacker has at most 80 passwords checked in a window."""
    email = new_email()
    register(email=email)
    now = window_end = login_window_start()
    window_end += timedelta(seconds=login_limits.LOGIN_WINDOW_SECONDS)
    failures, i = 0, 0
    while now < window_end:
        status, retry_after = attempt_login(db, email, WRONG, f"2001:db8:9:{i % 256:02x}{i // 256:02x}::1", now)
        i += 1
        if status == 401:
            failures += 1
        else:
            now += timedelta(seconds=retry_after or 1)
    assert login_limits.ADDRESS_FREE_FAILURES * 4 < failures <= login_limits.ADDRESS_BLOCK_FAILURES * 4
    assert attempt_login(db, email, STRONG_PASSWORD, "2001:db8:a::1", window_end - timedelta(seconds=1)) == (200, None)


def test_a_stranger_keeping_the_email_wait_alive_never_holds_the_owner(db: Any) -> None:
    """Past 100 failures at one e-mail, with a guess each time the wait runs out, the owner's clean address gets in."""
    email = new_email()
    register(email=email)
    now = login_window_start()
    for i in range(login_limits.EMAIL_FREE_FAILURES):
        assert attempt_login(db, email, WRONG, f"198.18.{i // 4}.{i % 4 + 1}", now)[0] == 401
    for i in range(10):
        assert attempt_login(db, email, STRONG_PASSWORD, f"192.0.2.{i + 1}", now) == (200, None)
        assert attempt_login(db, email, WRONG, f"198.19.0.{i + 1}", now)[0] == 401  # a fresh address guesses again
        now += timedelta(seconds=1)


def test_parallel_logins_from_one_address_cannot_pass_the_limit(db: Any, monkeypatch: Any) -> None:
    """An address one failure short of its block sends 10 guesses at once: one is checked, nine are 429."""
    _clear_of_window_end()
    email = new_email()
    register(email=email)
    address = "203.0.113.91"
    _failures_recorded(db, address, login_limits.ADDRESS_BLOCK_FAILURES - 1, datetime.now(UTC) - timedelta(minutes=2))
    checks = count_bcrypt_checks(monkeypatch)
    client = function_client("login")

    def guess(_: int) -> int:
        body = {"email": email, "password": WRONG}
        return client.post("/", json=body, headers={"X-Forwarded-For": address}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(guess, range(10)))
    assert statuses == [401] + [429] * 9
    assert len(checks) == 1


def test_a_refused_login_runs_no_bcrypt_and_writes_nothing(setenv: Any, db: Any, monkeypatch: Any) -> None:
    """A login refused by its limiter answers 429 with Retry-After, after no bcrypt check and no write."""
    _clear_of_window_end()
    counting = Counting.start(function_client, setenv)
    email = new_email()
    register(email=email)
    address = "203.0.113.92"
    _failures_recorded(db, address, login_limits.ADDRESS_BLOCK_FAILURES, datetime.now(UTC))
    checks = count_bcrypt_checks(monkeypatch)
    body = {"email": email, "password": STRONG_PASSWORD}
    case = counting.count(
        lambda: function_client("login").post("/", json=body, headers={"X-Forwarded-For": address}), 429
    )
    assert case.status == 429
    assert (case.writes, len(checks)) == (0, 0)


def test_every_401_costs_a_check_at_the_higher_cost_and_a_login_rehashes(
    setenv: Any, db: Any, monkeypatch: Any
) -> None:
    """A hash made at cost 4 under BCRYPT_ROUNDS=8: a wrong password costs a cost-8 check; the right one re-hashes."""
    import bcrypt

    email = new_email()
    user_id = register(email=email)["userId"]  # stored at cost 4 (the tests' default)
    setenv(BCRYPT_ROUNDS="8")
    costs: list[int] = []
    real_checkpw = bcrypt.checkpw

    def costed_checkpw(password: bytes, hashed: bytes) -> bool:
        costs.append(int(hashed.split(b"$")[2]))
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", costed_checkpw)
    client = function_client("login")
    for body, status in (
        ({"email": email, "password": WRONG}, 401),
        ({"email": new_email(), "password": WRONG}, 401),
    ):
        costs.clear()
        assert client.post("/", json=body, headers={"X-Forwarded-For": "198.51.100.77"}).status_code == status
        assert max(costs) == 8, costs
    assert client.post("/", json={"email": email, "password": STRONG_PASSWORD}).status_code == 200
    stored = db.collection(USERS).document(user_id).get().get("passwordHash")
    assert stored.startswith("$2b$08$")
    assert bcrypt.checkpw(STRONG_PASSWORD.encode(), stored.encode())
