"""Running gcloud: every command shown as it could be typed, changes skipped in a dry run, transient failures retried.

A fresh project fails in documented, transient ways: an API enabled a moment ago,
IAM grants and service agents that take minutes to propagate, Cloud Build's small
default pool on a new project, Firestore's contention on concurrent index
changes, gcloud's own local state under parallel use. Each is retried on Google's
exact message with a bounded back-off (tests/deploy/fake_gcloud.py reproduces each
one and says where the message comes from); anything else fails at once.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Seconds to wait before each retry of a transient failure: at most 4 minutes in all.
BACKOFF_SECONDS = (10, 20, 30, 60, 60, 60)

# Google's messages for failures that pass by themselves within minutes on a fresh project.
PROPAGATION = re.compile(
    "|".join(
        (
            r"has not been used in project [^ ]+ before or it is disabled",
            r"Permission denied while using the Eventarc Service Agent",
            r"Permission denied on secret: .* for Revision service account",
            r"INVALID_ARGUMENT: Service account [^ ]+ does not exist",
            r"Unable to retrieve the repository metadata for projects/[^ ]+",
            r"Access to bucket gcf-v2-sources-[^ ]+ denied",
            r"missing permission on the build service account",
        )
    )
)
# Cloud Build's pool or a quota was full: the build or the request is tried again later.
CAPACITY = re.compile(r"Build failed with status: EXPIRED|RESOURCE_EXHAUSTED|[Qq]uota exceeded")
# Firestore's answer to concurrent index and field changes (HTTP 409, ABORTED).
CONTENTION = re.compile(r"ABORTED: .*(cross-transaction contention|underlying data changed)")
# gcloud's local state (SQLite files in its configuration directory) under parallel use: retried once, at once.
LOCAL_STATE_CRASH = re.compile(r"gcloud crashed \(OperationalError\): database is locked")
# What gcloud answers for a resource that does not exist.
NOT_FOUND = re.compile(r"NOT_FOUND|[Nn]ot found|does not exist|status=\[404\]")


class Failed(Exception):
    """The deployment cannot go on; the message says why and what to do."""


def say(*lines: str) -> None:
    """Progress and diagnostics: stderr (stdout carries only the extension configuration or the dry-run plan)."""
    for line in lines:
        print(line, file=sys.stderr, flush=True)


def pause(seconds: float) -> None:
    """Wait before a retry."""
    time.sleep(seconds)


def command_line(args: Sequence[str]) -> str:
    """'+ gcloud ARGS', as it could be pasted into a shell."""
    return "+ gcloud " + " ".join(shlex.quote(word) for word in args)


@dataclass
class Result:
    """One finished gcloud call: exit status, stdout and the stderr of every attempt."""

    status: int
    out: str
    err: str


@dataclass
class Gcloud:
    """gcloud for one project: every call names it (--project and CLOUDSDK_CORE_PROJECT)."""

    project: str
    dry_run: bool = False
    config_dir: str | None = None
    retried: list[str] = field(default_factory=list)

    def environment(self, config_dir: str | None = None) -> dict[str, str]:
        """The caller's environment, with no prompts and the project set before gcloud parses any argument.

        gcloud resolves some bare names (the scheduler's --topic) against the configured
        project while parsing, before --project applies; CLOUDSDK_CORE_PROJECT fixes that.
        """
        env = dict(os.environ, CLOUDSDK_CORE_DISABLE_PROMPTS="1")
        if self.project:
            env["CLOUDSDK_CORE_PROJECT"] = self.project
        if config_dir or self.config_dir:
            env["CLOUDSDK_CONFIG"] = config_dir or self.config_dir or ""
        return env

    def with_project(self, args: Sequence[str]) -> list[str]:
        """The arguments with --project appended (unless they name it)."""
        words = list(args)
        if self.project and not any(word.startswith("--project=") for word in words):
            words.append(f"--project={self.project}")
        return words

    def show(self, args: Sequence[str], note: str = "") -> None:
        """Print a command line (with a note as a comment)."""
        self.show_line(command_line(args) + (f"  # {note}" if note else ""))

    def show_line(self, line: str) -> None:
        """A line of the plan: on stdout in a dry run (the plan is its product), on stderr otherwise."""
        print(line, file=sys.stdout if self.dry_run else sys.stderr, flush=True)

    def call(self, args: Sequence[str], stdin: bytes | None = None, config_dir: str | None = None) -> Result:
        """Run gcloud once per attempt, retrying the transient failures; the last attempt's status."""
        delays = iter(BACKOFF_SECONDS)
        crashed = False
        errors = []
        while True:
            completed = subprocess.run(
                ["gcloud", *args],
                input=stdin if stdin is not None else b"",
                capture_output=True,
                env=self.environment(config_dir),
                check=False,
            )
            out, err = completed.stdout.decode(errors="replace"), completed.stderr.decode(errors="replace")
            errors.append(err)
            if completed.returncode == 0:
                return Result(0, out, "".join(errors))
            match = PROPAGATION.search(err) or CAPACITY.search(err) or CONTENTION.search(err)
            delay = next(delays, None) if match else None
            if match and delay is not None:
                why = _why(match)
                say(f'  (gcloud {args[0]} {args[1]}: "{match[0][:80]}": {why}; retrying in {delay} s)')
                self.retried.append(match[0])
                pause(delay)
            elif not crashed and LOCAL_STATE_CRASH.search(err):
                crashed = True
                say(f"  (gcloud {args[0]} {args[1]}: gcloud's local state was busy; retrying once)")
            else:
                return Result(completed.returncode, out, "".join(errors))

    def query(self, *args: str) -> str | None:
        """The answer to a read-only question; None when the resource does not exist (or in a dry run).

        Any other failure stops the run: a permission error must not be taken for "missing".
        """
        if self.dry_run:
            return None
        result = self.call(self.with_project(args))
        if result.status == 0:
            return result.out.rstrip("\n")
        if NOT_FOUND.search(result.err):
            return None
        say(result.err.rstrip())
        raise Failed(f"could not run: gcloud {' '.join(args)}")

    def change(self, *args: str, quiet: bool = False, note: str = "", stdin: bytes | None = None) -> None:
        """Run a command that changes the project (shown; skipped in a dry run); its output to stderr unless quiet."""
        words = self.with_project(args)
        self.show(words, note)
        if self.dry_run:
            return
        result = self.call(words, stdin=stdin)
        if result.status != 0 or not quiet:
            say(*(text.rstrip("\n") for text in (result.out, result.err) if text.strip()))
        if result.status != 0:
            raise Failed(f"gcloud {args[0]} {args[1]} failed (exit status {result.status})")

    def try_read(self, *args: str) -> tuple[bool, str]:
        """(succeeded, stdout or the first line of stderr) of a read that may fail without stopping the run."""
        result = self.call(self.with_project(args))
        if result.status == 0:
            return True, result.out.rstrip("\n")
        return False, (result.err.strip().splitlines() or [""])[0][:200]


def _why(match: re.Match[str]) -> str:
    if CAPACITY.fullmatch(match[0]):
        return "Cloud Build or a quota is busy on this project"
    if CONTENTION.search(match[0]):
        return "Firestore is busy with another index or field change"
    return "this passes within minutes on a new project"


def private_config(source: str | None, destination: Path) -> str:
    """A private copy of gcloud's configuration directory (logs left out): parallel gclouds must not share one."""
    import shutil

    destination.mkdir(mode=0o700)
    if source and os.path.isdir(source):
        for entry in os.scandir(source):
            if entry.name == "logs":
                continue
            target = destination / entry.name
            if entry.is_dir(follow_symlinks=False):
                shutil.copytree(entry.path, target, symlinks=True)
            else:
                shutil.copy2(entry.path, target)
    return str(destination)
