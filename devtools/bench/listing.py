"""Listing every capture of an account end to end, 1000 a page: items per second and reads per item."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from devtools import opscenarios
from devtools.apps import function_client
from devtools.bench.bulk import GENEROUS, connect, exchange
from devtools.bench.context import Measurement, Run
from devtools.bench.opcounts import _setenv
from devtools.samples import tweet_body

LIMIT = 1000
DATABASE = "bench-listing"


def _fill(post: Any, count: int) -> None:
    """Capture `count` new tweets in batches of 100 through `post(body)`."""
    for start in range(0, count, 100):
        post({"tweets": [tweet_body() for _ in range(min(100, count - start))]})


def _page_all(get: Any) -> tuple[int, int]:
    """(items, pages) of paging from no cursor until nextCursor is null through `get(path)`."""
    items = pages = 0
    cursor = None
    while True:
        body = get(f"/?limit={LIMIT}" + (f"&cursor={quote(cursor)}" if cursor else ""))
        items, pages, cursor = items + len(body["tweets"]), pages + 1, body["nextCursor"]
        if cursor is None:
            return items, pages


def over_http(run: Run) -> None:
    """Capture `listing_items` tweets, then page through them all over HTTP, `listing_passes` times."""
    count = run.plan.listing_items
    token = run.register_account()["accessToken"]
    filler = run.serve("capture_batch", **GENEROUS)
    with contextlib.closing(connect(filler.port)) as connection:
        started = time.perf_counter()
        _fill(lambda body: exchange(connection, "POST", "/", token, body), count)
        fill_s = time.perf_counter() - started
    run.stop(filler)
    lister = run.serve("list_tweets", **GENEROUS)
    walls = []
    with contextlib.closing(connect(lister.port)) as connection:
        for _ in range(run.plan.listing_passes):
            started = time.perf_counter()
            items, pages = _page_all(lambda path: exchange(connection, "GET", path, token)[1])
            walls.append(time.perf_counter() - started)
            if items != count:
                raise RuntimeError(f"listed {items} of {count}")
    wall = statistics.median(walls)
    run.results["listing"] = {
        "items": count,
        "limit": LIMIT,
        "pages": pages,
        "fill_s": round(fill_s, 2),
        "pass_s": [round(w, 2) for w in walls],
        "median_pass_s": round(wall, 2),
        "items_per_s": round(count / wall, 1),
    }


def reads(run: Run) -> None:
    """The same paging in-process on a counted Firestore client: RPCs and reads per item listed."""
    from shared import clients

    count = run.plan.listing_items
    run.use_backends_in_process(DATABASE, BCRYPT_ROUNDS="4", **GENEROUS)
    counting = opscenarios.Counting.start(function_client, _setenv)
    try:
        token = opscenarios.register(counting).body["accessToken"]
        _fill(lambda body: opscenarios.batch(counting, token, body["tweets"]), count)
        headers = {"Authorization": f"Bearer {token}"}
        lister = function_client("list_tweets")
        counting.counter.reset()
        items, pages = _page_all(lambda path: lister.get(path, headers=headers).get_json())
        ops = counting.counter.snapshot()
    finally:
        clients.reset()
    if items != count:
        raise RuntimeError(f"listed {items} of {count} in-process")
    listing = run.results.setdefault("listing", {})
    listing["counted"] = {
        "items": items,
        "pages": pages,
        "reads": ops.get("reads", 0),
        "rpcs": {k[4:]: v for k, v in sorted(ops.items()) if k.startswith("rpc:")},
        "reads_per_item": round(ops.get("reads", 0) / items, 4),
    }


def render(results: Mapping[str, Any]) -> list[str]:
    """The listing section of the report."""
    figures = results.get("listing")
    if not figures:
        return []
    out = ["\n== 8. Listing end to end (limit 1000 a page) =="]
    if "items_per_s" in figures:
        out.append(
            f"  {figures['items']} captures in {figures['pages']} pages: median pass {figures['median_pass_s']} s "
            f"of {figures['pass_s']} = {figures['items_per_s']} items/s (filling them in batches of 100: "
            f"{figures['fill_s']} s)"
        )
    counted = figures.get("counted")
    if counted:
        rpcs = " ".join(f"{k}={v}" for k, v in counted["rpcs"].items())
        out.append(
            f"  counted in-process: {counted['reads']} reads for {counted['items']} items = "
            f"{counted['reads_per_item']} reads/item ({rpcs})"
        )
    return out


MEASUREMENT = Measurement(phases=(("listing", over_http), ("listing reads", reads)), render=render)
