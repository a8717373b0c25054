"""What each request really costs in Firestore, counted on the wire by a real client's channel.

The scenarios live in devtools.opscenarios, which the benchmark's table of operations also runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from devtools import opscenarios
from devtools.opscenarios import Counting
from tests.support import PROJECT, function_client, register, tweet_body

# reads, writes, deletes of every case the benchmark reports (the README's cost table).
DOCUMENTED = {
    "register": (0, 3, 0),
    "login (success)": (3, 1, 0),
    "login (wrong password)": (3, 2, 0),
    "refresh": (2, 1, 0),
    "refresh (rotation on)": (2, 1, 0),
    "logout": (1, 1, 0),
    "health": (1, 0, 0),
    "retry_queue (empty queue)": (1, 0, 0),
    "capture (published)": (0, 4, 1),
    "capture (duplicate)": (0, 1, 0),
    "capture (rate-limited)": (0, 1, 0),
    "capture (queued)": (0, 4, 0),
    "retry_queue (one due item)": (1, 2, 1),
}


@pytest.fixture(name="counting")
def _counting(setenv: Callable[..., None]) -> Counting:
    """The instance's Firestore client, replaced by one whose RPCs are counted."""
    return Counting.install(PROJECT, os.environ["FIRESTORE_DATABASE"], function_client, setenv)


def test_refresh_reads_the_session_directly(counting: Counting) -> None:
    """Refresh is two direct document reads (session, then its user) and one write: no query."""
    user = register()
    ops = opscenarios.refresh(counting, user["refreshToken"]).ops
    assert ops.get("rpc:RunQuery", 0) == 0
    assert (ops["reads"], ops["writes"]) == (2, 1)


def test_a_published_capture_reads_nothing(counting: Counting) -> None:
    """Dedup is a create, not a read: a published capture is three commits and zero reads."""
    token = register()["accessToken"]
    body = tweet_body()
    ops = opscenarios.capture(counting, token, body, "published").ops
    assert ops.get("reads", 0) == 0
    assert (ops["rpc:Commit"], ops["writes"], ops["deletes"]) == (3, 4, 1)
    duplicate = opscenarios.capture(counting, token, body, "duplicate").ops
    assert duplicate.get("reads", 0) == 0 and duplicate["failed_commits"] == 1


def test_register_is_one_commit(counting: Counting) -> None:
    """E-mail claim, user and session are written in one atomic commit."""
    ops = opscenarios.register(counting).ops
    assert ops == {"rpc:Commit": 1, "writes": 3, "deletes": 0}


def test_every_case_of_the_benchmark_answers_and_costs_as_documented(counting: Counting) -> None:
    """Every request the benchmark counts answers as expected, with the reads, writes and deletes documented."""
    cases = opscenarios.every_case(counting)
    assert {name: case.status for name, case in cases.items() if not case.as_expected} == {}
    assert {name: (case.reads, case.writes, case.deletes) for name, case in cases.items()} == DOCUMENTED
