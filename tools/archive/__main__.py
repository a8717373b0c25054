"""`python -m tools.archive import ARCHIVE | export FILE | republish --since DATE | queue`, against `/api/...`.

Exit status: 0 done, 1 the input, the credentials or the API said no (one line on
stderr says what), 2 wrong usage, 75 the account's capture budget is spent for hours
(run again when the line says), 130 interrupted (run the same command again).
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tools.archive.client import Api, ApiError
from tools.archive.exporter import export_captures
from tools.archive.files import OutputError
from tools.archive.importer import PARALLEL, BudgetExhausted, ImportCounts, import_archive
from tools.archive.owner import queue_items, queue_lines, republish_since, retry_failed, state_file
from tools.archive.reader import ArchiveError

PASSWORD_VARIABLE = "TCA_PASSWORD"  # noqa: S105 - the variable's name, not a password


def parser() -> argparse.ArgumentParser:
    """The command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api", required=True, metavar="BASE_URL", help="the base URL serving /api/... paths")
    common.add_argument("--email", required=True, help="the account's e-mail (password: $TCA_PASSWORD or a prompt)")
    common.add_argument(
        "--patience", type=float, default=300.0, metavar="SECONDS",
        help="how long to keep retrying through network loss and 429/503 answers (default 300)",
    )  # fmt: skip
    top = argparse.ArgumentParser(
        prog="python -m tools.archive",
        description="Import the X data archive's likes; export every capture; republish them; see the queue.",
    )
    commands = top.add_subparsers(dest="command", required=True)
    imports = commands.add_parser("import", parents=[common], help="capture every like of an X data archive")
    imports.add_argument("archive", type=Path, help="the archive .zip, its extracted folder, or its data/like.js")
    imports.add_argument(
        "--invalid-out", type=Path, metavar="FILE",
        help="where to list the entries that cannot be captured (default ./ARCHIVE-NAME.invalid.ndjson)",
    )  # fmt: skip
    imports.add_argument("--dry-run", action="store_true", help="check and estimate the cost, send nothing")
    imports.add_argument(
        "--parallel", type=int, default=PARALLEL, choices=range(1, 9), metavar="N",
        help=f"requests in flight, 1-8 (default {PARALLEL})",
    )  # fmt: skip
    exports = commands.add_parser("export", parents=[common], help="write every capture as NDJSON")
    exports.add_argument("out", type=Path, help="the NDJSON file to write (one GET /api/tweets item a line)")
    exports.add_argument("--like-js", type=Path, metavar="FILE", help="also write the likes as an archive like.js")
    replays = commands.add_parser(
        "republish", parents=[common], help="send every capture since a date to the topic again (replay)"
    )
    replays.add_argument(
        "--since", required=True, metavar="DATE",
        help="ISO-8601 date or date-time (UTC unless it has an offset), e.g. 2025-01-01",
    )  # fmt: skip
    queue = commands.add_parser("queue", parents=[common], help="list what has not reached the topic yet")
    queue.add_argument("--status", choices=("pending", "retrying", "failed"), help="only items in this state")
    queue.add_argument("--retry-failed", action="store_true", help="then give every failed item another run")
    return top


def main(argv: list[str] | None = None) -> int:
    """Run the command; its exit status."""
    args = parser().parse_args(argv)
    # A closed terminal or a `kill` ends the run like Ctrl-C: temporary files go, the message says what to do.
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _interrupt)
    counts = ImportCounts()
    api: Api | None = None
    try:
        api = Api(args.api, args.email, password(), patience=args.patience)
        if args.command == "import":
            invalid_out = args.invalid_out or Path.cwd() / f"{archive_name(args.archive)}.invalid.ndjson"
            import_archive(args.archive, api, invalid_out, dry_run=args.dry_run, parallel=args.parallel, counts=counts)
            print(counts.line(invalid_out) if not args.dry_run else "dry run: nothing sent", flush=True)
        elif args.command == "republish":
            sent = republish_since(api, args.since, state_file(args.since, Path.cwd()))
            print(f"done: {sent.republished:,} republished, {sent.queued:,} queued for the replay", flush=True)
        elif args.command == "queue":
            print("\n".join(queue_lines(queue_items(api, args.status))), flush=True)
            if args.retry_failed:
                print(f"{retry_failed(api):,} failed items pending again; the next replay run publishes them")
        else:
            exported = export_captures(api, args.out, args.like_js)
            written = f" and {exported.likes:,} likes to {args.like_js}" if args.like_js else ""
            print(
                f"done: {exported.captures:,} captures to {args.out}{written} in {exported.seconds:.1f} s", flush=True
            )
    except (ArchiveError, ApiError, OutputError) as exc:
        again = "; run the same command again to resume" if args.command == "republish" else ""
        print(f"error: {exc}{again}", file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a file that vanished: still one line
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}".replace("error: : ", "error: "), file=sys.stderr)
        return 1
    except BudgetExhausted as exc:
        resume = datetime.now(UTC) + timedelta(seconds=exc.seconds)
        print(
            f"stopped after {counts.new:,} new captures: {exc}; run the same command again after"
            f" {resume:%Y-%m-%d %H:%M} UTC to send the rest",
            file=sys.stderr,
        )
        return 75  # EX_TEMPFAIL: try again later
    except KeyboardInterrupt:
        sent = f" after {counts.new:,} new captures" if args.command == "import" else ""
        safe = "it resumes where it stopped" if args.command == "republish" else "nothing is captured twice"
        print(f"\ninterrupted{sent}: run the same command again to finish ({safe})", file=sys.stderr)
        return 130
    finally:
        if api is not None:
            api.close()
    return 0


def _interrupt(number: int, frame: object) -> None:
    raise KeyboardInterrupt


def password() -> str:
    """The password: $TCA_PASSWORD, else a prompt (never an argument, which other users could see)."""
    value = os.environ.get(PASSWORD_VARIABLE)
    if value:
        return value
    if not sys.stdin.isatty():
        raise ApiError(f"no password: set {PASSWORD_VARIABLE} or run in a terminal to be asked")
    return getpass.getpass("password: ")


def archive_name(path: Path) -> str:
    """A name for files about the archive at PATH (`twitter-2026-…` for its zip, `like` for a like.js)."""
    return path.resolve().name.removesuffix(".zip").removesuffix(".js") or "archive"


if __name__ == "__main__":
    raise SystemExit(main())
