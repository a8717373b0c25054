"""A call's deadline counts down from its first attempt and never gives an attempt the whole timeout again."""

from __future__ import annotations

import time

from shared.db import Deadline


def test_each_attempt_gets_only_what_is_left() -> None:
    """Attempts end by the deadline; past it they get the shortest timeout (api_core's would start over)."""
    seen: list[tuple[float, float]] = []
    start = time.monotonic()
    attempt = Deadline(0.5)(lambda **kwargs: seen.append((time.monotonic(), kwargs["timeout"])))
    for _ in range(4):
        attempt()
        time.sleep(0.2)
    before = [(at, timeout) for at, timeout in seen if at < start + 0.49]
    after = [timeout for at, timeout in seen if at > start + 0.51]
    assert before and all(at + timeout <= start + 0.51 for at, timeout in before)
    assert after and all(timeout == 0.01 for timeout in after)
    assert [timeout for _, timeout in seen] == sorted((timeout for _, timeout in seen), reverse=True)


def test_applied_again_it_does_not_start_over() -> None:
    """A stream the library reopens applies the same deadline again: the second RPC gets only what is left."""
    deadline = Deadline(0.3)
    timeouts: list[float] = []
    deadline(lambda **kwargs: timeouts.append(kwargs["timeout"]))()
    time.sleep(0.35)
    deadline(lambda **kwargs: timeouts.append(kwargs["timeout"]))()
    assert timeouts[0] <= 0.3 and timeouts[1] == 0.01
