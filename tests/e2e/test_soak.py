"""A short chaos soak in the suite: 30 s of load, outages and kills from a fixed seed, then the audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.soak.report import table, write_json
from devtools.soak.run import Soak

pytestmark = pytest.mark.slow
SEED = 15


def test_a_short_soak_balances(tmp_path: Path) -> None:
    """Pub/Sub restarted, Firestore unreachable, functions killed: every tweet stored once and on the topic."""
    result, header = Soak(30, SEED).run()
    write_json(result, header, tmp_path / "soak.json")
    report = table(result, header)
    print(report)
    assert result.balanced, report
    figures = result.figures
    assert figures["pubsub_outages"] >= 1 and figures["firestore_windows"] == 1, report
    assert figures["kills"].get("kill api", 0) >= 1 and figures["kills"].get("kill retry_queue", 0) >= 1, report
    assert figures["answers_told"].get("queued", 0) > 0, "the Pub/Sub outage queued nothing: " + report
    assert figures["answers_5xx"] + figures["network_errors"] > 0, "no fault reached a client: " + report
    assert figures["messages_by_event"].get("unliked", 0) > 0, report


def test_a_registration_whose_answer_was_lost_logs_in(serve: Any) -> None:
    """An earlier attempt created the account but its answer never came back: the next one's 409 logs in."""
    from devtools.soak.extension import PASSWORD, Extension, Ledger, Pool

    api = serve("api", BCRYPT_ROUNDS="4")
    extension = Extension(api.url, Ledger(), Pool(), SEED, "lost-answer", unlike=False)
    first = requests.post(
        api.url + "/api/auth/register", json={"email": extension.email, "password": PASSWORD}, timeout=30
    )
    assert first.status_code == 201
    extension.register()
    assert extension.user_id == first.json()["userId"] and extension.access and extension.refresh_token
