"""Login timing tells no account apart: every refusing path but the limiter's costs exactly one bcrypt check.

bcrypt dominates a login's time, so one check on every path, counted, is what makes
the paths alike; how long they take in milliseconds is measured by `make bench`.
A refusal by the failed-login limits (429) costs none: whether an attempt is limited
does not depend on whether the account exists (tests/functions/test_owner_always_gets_in.py).
"""

from __future__ import annotations

import itertools
from typing import Any

from shared.db import USERS
from tests.support import STRONG_PASSWORD, count_bcrypt_checks, function_client, new_email, register


def test_every_refusing_login_path_costs_one_bcrypt_check(db: Any, monkeypatch: Any) -> None:
    """Unknown e-mail, wrong, over-long password and disabled account: one bcrypt check each, like a success."""
    checks = count_bcrypt_checks(monkeypatch)
    known, disabled = new_email(), new_email()
    register(email=known)
    db.collection(USERS).document(register(email=disabled)["userId"]).update({"isActive": False})
    client = function_client("login")
    fresh_addresses = (f"198.51.100.{i}" for i in itertools.count(1))  # no path is slowed by its own failures
    paths: dict[str, tuple[dict[str, str], int]] = {
        "unknown e-mail": ({"email": new_email(), "password": "Wrong-Password-1"}, 401),
        "wrong password": ({"email": known, "password": "Wrong-Password-1"}, 401),
        "over-long password": ({"email": known, "password": "Aa1" + "é" * 40}, 401),
        "disabled account": ({"email": disabled, "password": STRONG_PASSWORD}, 403),
        "success": ({"email": known, "password": STRONG_PASSWORD}, 200),
    }
    for name, (body, status) in paths.items():
        checks.clear()
        response = client.post("/", json=body, headers={"X-Forwarded-For": next(fresh_addresses)})
        assert response.status_code == status, (name, response.get_json())
        assert len(checks) == 1, f"{name}: {len(checks)} bcrypt checks"
