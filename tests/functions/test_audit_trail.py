"""The audit trail: each account event logs one structured line with its event name and no secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.accounts import login_limits
from shared.db import SESSIONS, USERS
from shared.logs import JsonFormatter, get_logger
from tests.support import STRONG_PASSWORD, function_client, new_email, register

ADDRESS = "198.51.100.33"
WRONG = "Wrong-Password-1"


@pytest.fixture(name="audit")
def _audit() -> Iterator[Callable[[Callable[[], Any]], list[dict[str, Any]]]]:
    """Run a request; the audit lines (log lines with an `event`, as the service formats them) it wrote."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter())
    logger = get_logger()
    logger.addHandler(handler)

    def audit(call: Callable[[], Any]) -> list[dict[str, Any]]:
        written.seek(0)
        written.truncate()
        call()
        lines = [json.loads(line) for line in written.getvalue().splitlines()]
        return [line for line in lines if "event" in line]

    yield audit
    logger.removeHandler(handler)


def _post(target: str, body: dict[str, Any]) -> Callable[[], Any]:
    return lambda: function_client(target).post("/", json=body, headers={"X-Forwarded-For": ADDRESS})


def test_every_account_event_logs_one_line_without_secrets(audit: Any, db: Any) -> None:
    """login.succeeded/failed/limited, refresh.reuse_detected, logout, logout.everywhere: one line each, no secret."""
    email = new_email()
    user, other, third = register(email=email), register(), register()
    lines = {
        "login.succeeded": audit(_post("login", {"email": email, "password": STRONG_PASSWORD})),
        "login.failed": audit(_post("login", {"email": email, "password": WRONG})),
    }
    for _ in range(login_limits.ADDRESS_FREE_FAILURES - 1):
        audit(_post("login", {"email": email, "password": WRONG}))
    lines["login.limited"] = audit(_post("login", {"email": email, "password": WRONG}))
    first = user["refreshToken"]
    second = function_client("refresh").post("/", json={"refreshToken": first}).get_json()["refreshToken"]
    db.collection(SESSIONS).document(first.split(".")[1]).update(
        {"rotatedAt": datetime.now(UTC) - timedelta(minutes=1)}
    )
    lines["refresh.reuse_detected"] = audit(_post("refresh", {"refreshToken": first}))
    lines["logout"] = audit(_post("logout", {"refreshToken": other["refreshToken"]}))
    lines["logout.everywhere"] = audit(_post("logout", {"refreshToken": third["refreshToken"], "everywhere": True}))

    for event, found in lines.items():
        assert [line["event"] for line in found] == [event], found
        assert found[0]["clientAddress"] == ADDRESS
    owners = {"login.succeeded": user, "refresh.reuse_detected": user, "logout": other, "logout.everywhere": third}
    for event, owner in owners.items():
        assert lines[event][0]["userId"] == owner["userId"]
    for event in ("login.failed", "login.limited"):
        assert "userId" not in lines[event][0] and len(lines[event][0]["emailTag"]) == 12
    written = json.dumps(lines)
    secrets = [STRONG_PASSWORD, WRONG, email, second, *(u[k] for u in (user, other, third) for k in ("refreshToken",
               "accessToken"))]  # fmt: skip
    assert [secret for secret in secrets if secret in written] == []


def test_refusals_before_and_after_the_password_check_are_audited(audit: Any, db: Any, setenv: Any) -> None:
    """The per-address limit logs login.limited (address only); a disabled account's right password, login.refused."""
    email = new_email()
    user = register(email=email)
    db.collection(USERS).document(user["userId"]).update({"isActive": False})
    refused = audit(_post("login", {"email": email, "password": STRONG_PASSWORD}))
    assert [(line["event"], line["userId"], line["clientAddress"]) for line in refused] == [
        ("login.refused", user["userId"], ADDRESS)
    ]
    setenv(AUTH_RATE_LIMIT_PER_MINUTE="1")  # this address has made its one request of the minute
    limited = audit(_post("login", {"email": email, "password": STRONG_PASSWORD}))
    assert [(line["event"], line["clientAddress"]) for line in limited] == [("login.limited", ADDRESS)]
    assert "emailTag" not in limited[0] and email not in json.dumps(limited)
