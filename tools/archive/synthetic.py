"""A synthetic X data archive in the real format, for the tests and the benchmark.

`python -m tools.archive.synthetic OUT.zip --likes 25548` writes a zip with
`data/manifest.js` and the likes split over `--parts` files (`data/like.js`,
`data/like-part1.js`, ...), each `window.YTD.like.partN = [...]` laid out as X
lays it out. The likes are deterministic for a seed: ids from 2008 (short,
pre-Snowflake) to 2026 (19 digits), some without `fullText` (deleted or
protected tweets), HTML entities, t.co links, non-ASCII text, exact repeats
across parts and malformed entries. Written streamed: memory stays flat.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.archive.likes import like_js_element, status_url

TWITTER_EPOCH_MS = 1288834974657  # Snowflake ids count milliseconds from here (4 Nov 2010)
SNOWFLAKE_START = datetime(2010, 11, 4, 1, 42, 54, tzinfo=UTC)
# Approximate sequential ids before Snowflake: (date, id) anchors, interpolated.
PRE_SNOWFLAKE = ((datetime(2008, 1, 1, tzinfo=UTC), 560_000_000), (SNOWFLAKE_START, 29_700_000_000))
FIRST, LAST = datetime(2008, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)

TEXTS = (
    "Just setting up my twttr",
    "Q&amp;A tonight: bring questions &lt;and&gt; snacks https://t.co/{code}",
    "Café au lait ☕ et croissants — le bonheur",
    "東京の夜景がきれい 🌃 https://t.co/{code}",
    "Ünïcödé everywhere: ñ, ø, ß, Ω, and an emoji 🎉",
    'RT @someone: a thread 🧵 about "quotes" and back\\slashes 1/7',
    "مرحبا بالعالم — right-to-left text",
    "Reading: https://t.co/{code} &amp; https://t.co/{code}",
    "multi\nline\ntweet with a tab\tinside",
    "@friend 100% agree &gt;&gt; ship it",
)
MALFORMED: tuple[Any, ...] = (
    {"like": {"fullText": "an entry without a tweetId", "expandedUrl": "https://twitter.com/i/web/status/"}},
    {"like": {"tweetId": 1697051672621597026, "fullText": "an id written as a number"}},
    {"like": {"tweetId": "12ab34", "fullText": "an id that is not a number"}},
    {"like": {"tweetId": "99999999999999999999", "fullText": "an id beyond 64 bits"}},
    {"notALike": {"tweetId": "1697051672621597027"}},
)


@dataclass
class Plan:
    """What a synthetic archive holds: the counts a correct import must report."""

    entries: int = 0
    valid: int = 0
    repeats: int = 0
    malformed: int = 0
    without_text: int = 0
    ids: list[str] = field(default_factory=list)


def tweet_id_at(moment: datetime, rng: random.Random) -> str:
    """A plausible id for a tweet posted at MOMENT: sequential before Nov 2010, Snowflake after."""
    if moment < SNOWFLAKE_START:
        (start, low), (end, high) = PRE_SNOWFLAKE
        share = (moment - start) / (end - start)
        return str(int(low + share * (high - low)) + rng.randrange(1000))
    milliseconds = int(moment.timestamp() * 1000) - TWITTER_EPOCH_MS
    return str((milliseconds << 22) | rng.getrandbits(22))


def synthetic_likes(count: int, seed: int = 14) -> Iterator[dict[str, Any]]:
    """COUNT distinct valid likes, newest first as in a real archive, deterministic for SEED."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    span = (LAST - FIRST).total_seconds()
    moments = sorted((FIRST.timestamp() + rng.random() * span for _ in range(count)), reverse=True)
    seen: set[str] = set()
    for stamp in moments:
        tweet_id = tweet_id_at(datetime.fromtimestamp(stamp, UTC), rng)
        while tweet_id in seen:
            tweet_id = str(int(tweet_id) + 1)
        seen.add(tweet_id)
        like: dict[str, Any] = {"tweetId": tweet_id}
        if rng.random() >= 0.03:
            template = TEXTS[rng.randrange(len(TEXTS))]
            codes = iter("".join(rng.choices("abcdefghijkLMNOPQ0123456789", k=10)) for _ in range(3))
            like["fullText"] = template.replace("{code}", "{}").format(*(next(codes) for _ in range(3)))
        like["expandedUrl"] = status_url(tweet_id)
        yield {"like": like}


def expected_text(like: dict[str, Any]) -> str:
    """The text a capture of LIKE must carry: entities decoded, empty when the archive has none."""
    return html.unescape(like["like"].get("fullText", ""))


def write_archive(
    path: Path,
    likes: int,
    *,
    parts: int = 3,
    repeats: int = 40,
    malformed: int = 5,
    seed: int = 14,
    keep_ids: bool = False,
) -> Plan:
    """Write a zip archive of LIKES distinct likes plus REPEATS exact repeats and MALFORMED bad entries."""
    plan = Plan()
    parts = max(1, parts)
    per_part = -(-likes // parts)
    source = synthetic_likes(likes, seed)
    repeated: list[dict[str, Any]] = []
    files = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        for number in range(parts):
            name = "data/like.js" if number == 0 else f"data/like-part{number}.js"
            written = 0
            with bundle.open(name, "w") as raw:
                out = _Writer(raw)
                out.write(f"window.YTD.like.part{number} = [\n")
                first = True

                def element(value: Any, out: _Writer = out) -> None:
                    nonlocal first
                    out.write(("" if first else ",\n") + like_js_element(value))
                    first = False

                for _ in range(per_part if number < parts - 1 else likes):
                    like = next(source, None)
                    if like is None:
                        break
                    element(like)
                    written += 1
                    plan.valid += 1
                    plan.without_text += "fullText" not in like["like"]
                    if keep_ids:
                        plan.ids.append(like["like"]["tweetId"])
                    if number == 0 and len(repeated) < repeats:
                        repeated.append(like)
                # Repeats go into later parts, exactly as they appeared in the first.
                if number > 0 or parts == 1:
                    share = len(repeated) if number == parts - 1 else len(repeated) // 2
                    for like in repeated[:share]:
                        element(like)
                        written += 1
                        plan.repeats += 1
                    del repeated[:share]
                if number == parts - 1:
                    for index in range(malformed):
                        element(MALFORMED[index % len(MALFORMED)])
                        written += 1
                        plan.malformed += 1
                out.write("\n]")
                out.flush()
            files.append({"fileName": name, "globalName": f"YTD.like.part{number}", "count": str(written)})
            plan.entries += written
        bundle.writestr("data/manifest.js", manifest_js(files))
        bundle.writestr("data/README.txt", "Synthetic X data archive for Tweet Capture API's archive tool.\n")
    return plan


def manifest_js(like_files: list[dict[str, str]]) -> str:
    """A data/manifest.js listing LIKE_FILES, with the neighbouring data types a real one has."""
    manifest = {
        "userInfo": {"accountId": "1234567890", "userName": "synthetic", "displayName": "Synthetic User"},
        "archiveInfo": {
            "sizeBytes": "0",
            "generationDate": "2026-11-01T12:00:00.000Z",
            "isPartialArchive": False,
            "maxPartSizeBytes": "53687091200",
        },
        "readmeInfo": {"fileName": "data/README.txt", "directory": "data/", "name": "README.txt"},
        "dataTypes": {
            "account": {"files": [{"fileName": "data/account.js", "globalName": "YTD.account.part0", "count": "1"}]},
            "like": {"files": like_files},
            "tweets": {
                "mediaDirectory": "data/tweets_media",
                "files": [{"fileName": "data/tweets.js", "globalName": "YTD.tweets.part0", "count": "0"}],
            },
        },
    }
    return "window.__THAR_CONFIG = " + json.dumps(manifest, ensure_ascii=False, indent=2, separators=(",", " : "))


class _Writer:
    """UTF-8 text onto a binary stream, in large writes."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.pending: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.pending.append(text)
        self.size += len(text)
        if self.size > 256 * 1024:
            self.flush()

    def flush(self) -> None:
        self.raw.write("".join(self.pending).encode("utf-8"))
        self.pending.clear()
        self.size = 0


def main(argv: list[str] | None = None) -> int:
    """Write a synthetic archive and print what it holds."""
    parser = argparse.ArgumentParser(prog="python -m tools.archive.synthetic", description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="the .zip to write")
    parser.add_argument("--likes", type=int, default=25548, help="distinct valid likes (default 25548)")
    parser.add_argument("--parts", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--malformed", type=int, default=5)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    plan = write_archive(
        args.out, args.likes, parts=args.parts, repeats=args.repeats, malformed=args.malformed, seed=args.seed
    )
    print(
        f"{args.out}: {plan.entries} entries in {args.parts} parts: {plan.valid} distinct likes "
        f"({plan.without_text} without text), {plan.repeats} repeats, {plan.malformed} malformed"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
