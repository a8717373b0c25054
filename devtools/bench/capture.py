"""2 and 3. Capture latency against its floor: the same Firestore and Pub/Sub calls issued directly.

Sequential captures over HTTP (keep-alive), the same entry point in-process through
a test client (to split HTTP from handler time) and the floor, round-robin; then
preflights, what the handler does before its first call, and throughput.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from flask.testing import FlaskClient

from devtools.bench import floor, throughput
from devtools.bench.context import DATABASE, ORIGIN, Measurement, Run
from devtools.bench.report import p, table
from devtools.bench.request import RequestSpec, server_latencies
from devtools.bench.stats import bounded, summarize, timed
from devtools.samples import tweet_body

PREFLIGHT_HEADERS = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


def _published(status: int, body: Mapping[str, Any], what: str) -> None:
    if status != 200 or body.get("status") != "published":
        raise RuntimeError(f"{what} answered {status} {str(body)[:200]}")


def in_process_capture(client: FlaskClient, token: str) -> float:
    """Seconds of one capture through the entry point's test client: no HTTP."""
    spec = RequestSpec.json_post(tweet_body(), 200, token=token)
    data = spec.body.encode("utf-8")
    elapsed, response = timed(lambda: client.post("/", data=data, headers=spec.headers))
    _published(response.status_code, response.get_json() or {}, "in-process capture")
    return elapsed


def lean_capture(connection: http.client.HTTPConnection, token: str) -> float:
    """Seconds of one capture over a lean keep-alive client, as the browser's native fetch is.

    The latency the ratio is about: the Python `requests` stack (about a millisecond) is not counted as ours.
    """
    spec = RequestSpec.json_post(tweet_body(), 200, token=token)
    data = spec.body.encode("utf-8")

    def exchange() -> tuple[int, bytes]:
        connection.request("POST", "/", body=data, headers=spec.headers)
        answer = connection.getresponse()
        return answer.status, answer.read()

    elapsed, (status, raw) = timed(exchange)
    _published(status, json.loads(raw) if status == 200 else {}, "capture")
    return elapsed


def requests_capture(session: requests.Session, url: str, token: str) -> float:
    """Seconds of one capture over a `requests` keep-alive session."""
    spec = RequestSpec.json_post(tweet_body(), 200, token=token)
    elapsed, response = timed(lambda: spec.send(url, session))
    _published(response.status_code, response.json() if response.status_code == 200 else {}, "capture")
    return elapsed


def warm_up(probes: Mapping[str, Callable[[], Any]]) -> None:
    """Warm every path: connections, channels, caches."""
    for _ in range(10):
        for probe in probes.values():
            probe()


def round_robin(probes: Mapping[str, Callable[[], Any]], count: int, seconds: float) -> dict[str, list[Any]]:
    """Each probe `count` times in turn, so load from elsewhere and the emulators' drift hit all alike."""
    samples: dict[str, list[Any]] = {name: [] for name in probes}
    deadline = time.monotonic() + seconds
    while len(next(iter(samples.values()))) < count and time.monotonic() < deadline:
        for name, probe in probes.items():
            samples[name].append(probe())
    return samples


def preflights(session: requests.Session, url: str, count: int) -> list[float]:
    """Seconds of each CORS preflight of a capture."""
    found = []
    for _ in bounded(count, 30):
        elapsed, response = timed(lambda: session.options(url, headers=PREFLIGHT_HEADERS, timeout=10))
        if response.status_code != 204:
            raise RuntimeError(f"preflight answered {response.status_code}")
        found.append(elapsed)
    return found


def before_first_call(token: str, jwt_key: str, count: int) -> dict[str, list[float]]:
    """What the handler does before its first Firestore call, in this process: verify the JWT, load the body."""
    from shared.accounts.tokens import verify_access_token
    from shared.tweets.schemas import TweetCapture

    schema = TweetCapture()
    body = tweet_body()
    return {
        "jwt_verify_ms": [timed(lambda: verify_access_token(token, jwt_key))[0] for _ in range(count)],
        "schema_load_ms": [timed(lambda: schema.load(body))[0] for _ in range(count)],
    }


def _probes(
    run: Run, token: str, user_id: str, http_session: requests.Session, connection: http.client.HTTPConnection, url: str
) -> dict[str, Callable[[], Any]]:
    """The four things measured round-robin: capture over http.client and requests, the floor, in-process."""
    from devtools.apps import function_client
    from shared import clients
    from shared.config import get_settings
    from shared.tweets.publish import PubSubPublisher

    run.use_backends_in_process(DATABASE, RATE_LIMIT_PER_MINUTE="100000")
    settings = get_settings()
    publisher = PubSubPublisher.for_settings(clients.PUBLISHER, settings)
    calls = floor.Floor(clients.firestore_client(), publisher, user_id, settings.rate_limit_per_minute)
    in_process = function_client("capture")  # on the same clients as the floor: no HTTP server
    return {
        "http.client": lambda: lean_capture(connection, token),
        "requests": lambda: requests_capture(http_session, url, token),
        "floor": calls.once,
        "in_process": lambda: in_process_capture(in_process, token),
    }


def _results(samples: dict[str, list[Any]], handler: list[float], preflight: list[float]) -> dict[str, Any]:
    """The capture figures of one run: client-side, server-side, in-process, preflight."""
    return {
        "sequential_ms": summarize(samples["http.client"]),
        "sequential_requests_ms": summarize(samples["requests"]),
        "server_handler_ms": summarize(handler),
        "in_process_ms": summarize(samples["in_process"]),
        "preflight_round_trip_ms": summarize(preflight),
    }


def capture_and_floor(run: Run) -> None:
    """Sequential captures interleaved with floor iterations, then preflights and throughput."""
    server = run.serve("capture", RATE_LIMIT_PER_MINUTE="100000")
    account = run.register_account()
    token = account["accessToken"]
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    with requests.Session() as session, contextlib.closing(connection):
        probes = _probes(run, token, account["userId"], session, connection, server.url)
        warm_up(probes)
        log_start = len(server.output())
        samples = round_robin(probes, run.plan.captures, 150)
        handler = server_latencies(server.output()[log_start:])
        preflight = preflights(session, server.url, run.plan.preflights)
    micro = before_first_call(token, run.jwt_key, run.plan.micro)
    run.results["capture"] = {**_results(samples, handler, preflight), **_summaries(micro)}
    run.results["floor"] = floor.results(samples["floor"], samples["http.client"], samples["in_process"])
    throughput.measure(run, server.url)


def _summaries(samples: Mapping[str, list[float]]) -> dict[str, Any]:
    return {name: summarize(values) for name, values in samples.items()}


ROWS = (
    ("capture, client-side (http.client)", "capture", "sequential_ms"),
    ("capture, client-side (requests)", "capture", "sequential_requests_ms"),
    ("capture, server handler (access log)", "capture", "server_handler_ms"),
    ("capture in-process (test client, no HTTP)", "capture", "in_process_ms"),
    ("floor: all four calls", "floor", "total_ms"),
    ("  (a) rate-limit increment commit", "floor", "ratelimit_ms"),
    ("  (b) create tweet + queue item", "floor", "store_ms"),
    ("  (c) one Publish request", "floor", "publish_ms"),
    ("  (d) settle commit: update tweet + delete item", "floor", "settle_ms"),
    ("preflight OPTIONS round trip", "capture", "preflight_round_trip_ms"),
    ("JWT verify, in-process", "capture", "jwt_verify_ms"),
    ("schema load, in-process", "capture", "schema_load_ms"),
)


def render(results: Mapping[str, Any]) -> list[str]:
    """Sections 2 and 3 of the report, and the throughput line."""
    if not (results.get("capture") and results.get("floor")):
        return throughput.render(results)
    floor_figures = results["floor"]
    quantiles = ("n", "p50", "p95", "p99")
    rows = [[label, *(p(results[part][key], k) for k in quantiles)] for label, part, key in ROWS]
    ratio = floor_figures["overhead_ratio"]
    verdict = floor.verdict(ratio, floor.RATIO_TARGET)
    return [
        "\n== 2. Capture (sequential, keep-alive; RATE_LIMIT_PER_MINUTE=100000) and 3. its floor ==",
        table(["", *quantiles], rows),
        f"  overhead ratio = capture p50 / floor p50 = {ratio} (target <= {floor.RATIO_TARGET}: {verdict})",
        f"  in-process capture p50 / floor p50 = {floor_figures['in_process_ratio']}",
        f"  floor = {floor_figures['how']}",
        *throughput.render(results),
    ]


MEASUREMENT = Measurement(phases=(("capture and floor", capture_and_floor),), render=render)
