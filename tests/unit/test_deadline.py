"""A call's deadline counts down from its first attempt and never gives an attempt the whole timeout again."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from shared import db
from shared.db import Deadline


class Clock:
    """The monotonic clock shared.db reads: it moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        """The current reading."""
        return self.now


@pytest.fixture(name="clock")
def _clock(monkeypatch: Any) -> Clock:
    clock = Clock()
    monkeypatch.setattr(db, "time", SimpleNamespace(monotonic=clock))
    return clock


def test_each_attempt_gets_only_what_is_left(clock: Clock) -> None:
    """Attempts end by the deadline; past it they get the shortest timeout (api_core's would start over)."""
    timeouts: list[float] = []
    attempt = Deadline(0.5)(lambda **kwargs: timeouts.append(kwargs["timeout"]))
    for _ in range(4):
        attempt()
        clock.now += 0.2
    assert timeouts == pytest.approx([0.5, 0.3, 0.1, 0.01])


def test_applied_again_it_does_not_start_over(clock: Clock) -> None:
    """A stream the library reopens applies the same deadline again: the second RPC gets only what is left."""
    deadline = Deadline(0.3)
    timeouts: list[float] = []
    deadline(lambda **kwargs: timeouts.append(kwargs["timeout"]))()
    clock.now += 0.1
    deadline(lambda **kwargs: timeouts.append(kwargs["timeout"]))()
    clock.now += 0.25
    deadline(lambda **kwargs: timeouts.append(kwargs["timeout"]))()
    assert timeouts == pytest.approx([0.3, 0.2, 0.01])
