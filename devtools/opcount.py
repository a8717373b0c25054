"""Count the Firestore operations a piece of code really performs.

A gRPC interceptor on the real client's channel tallies what each RPC bills:
a document read per document asked for by a get (found or not), per document a
query returns (at least one per query), and a write or delete per mutation of a
commit. Used by tests and the benchmark; nothing here is deployed.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc


class OpCounter(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Tallies RPCs, document reads, writes and deletes sent through a channel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.commit_sizes: list[int] = []  # the mutations of each commit, in order

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self.counts.clear()
            self.commit_sizes.clear()

    def snapshot(self) -> dict[str, int]:
        """The counts so far: rpc:<Method>, reads, writes, deletes, failed_commits."""
        with self._lock:
            return dict(self.counts)

    def _add(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                self.counts[name] += amount

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        """Count a Commit's mutations (and whether the commit failed)."""
        method = details.method.rsplit("/", 1)[-1]
        self._add(**{f"rpc:{method}": 1})
        outcome = continuation(details, request)
        if method == "Commit":
            deletes = sum(1 for write in request.writes if write._pb.WhichOneof("operation") == "delete")
            if outcome.exception() is None:
                self._add(writes=len(request.writes) - deletes, deletes=deletes)
                with self._lock:
                    self.commit_sizes.append(len(request.writes))
            else:
                self._add(failed_commits=1)
        return outcome

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        """Count the documents a BatchGetDocuments or RunQuery bills."""
        method = details.method.rsplit("/", 1)[-1]
        self._add(**{f"rpc:{method}": 1})
        responses = continuation(details, request)
        if method == "BatchGetDocuments":
            self._add(reads=len(request.documents))
            return responses
        if method == "RunQuery":
            return _QueryCounter(responses, self)
        return responses


class _QueryCounter:
    """Wraps a RunQuery response stream, billing max(1, documents returned) once it ends."""

    def __init__(self, responses: Any, counter: OpCounter) -> None:
        self._responses = responses
        self._counter = counter
        self._documents = 0
        self._billed = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            response = next(self._responses)
        except StopIteration:
            self._bill()
            raise
        if response._pb.HasField("document"):
            self._documents += 1
        return response

    def _bill(self) -> None:
        if not self._billed:
            self._billed = True
            self._counter._add(reads=max(1, self._documents))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._responses, name)


def count_operations(client: Any) -> OpCounter:
    """Count every RPC of a Firestore client on the emulator, from now on; it must not have made a call yet."""
    if client._emulator_host is None:
        raise RuntimeError("counting is for the emulator: set FIRESTORE_EMULATOR_HOST")
    if client._firestore_api_internal is not None:
        raise RuntimeError("the client has a channel already: count it before its first call")
    counter = OpCounter()
    make_channel = client._emulator_channel
    client._emulator_channel = lambda transport: grpc.intercept_channel(make_channel(transport), counter)
    return counter
