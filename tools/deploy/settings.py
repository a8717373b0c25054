"""The deploy's settings: flags (or environment variables), checked before anything is touched."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass

USAGE = """\
Usage: ./deploy.sh --owner-email EMAIL [options]

Creates (only when missing) the APIs, Firestore database (Native mode), TTL
policies, composite indexes, daily backups, deny-all security rules, Pub/Sub
topics, scheduler job, JWT secret, registration code, the functions' and the
builds' service accounts and the build images' repository (gcf-artifacts,
keeping the 2 most recent versions of each image), then deploys every function,
creates the owner's account (password from TCA_PASSWORD or asked; registration
is closed to everyone else from the start), prints the functions' URLs and the
extension's configuration JSON (the JSON alone goes to stdout), and verifies the
deployment (health, CORS preflight, a capture without token).

       ./deploy.sh --verify [--project ID] [--region R] [--extension-id ID]
       ./deploy.sh --verify --base-url URL | --health-url URL --capture-url URL
Checks an existing deployment only (the deployed one, with its retry tick and
backups, or the URLs given) and prints a one-line verdict; exit status 0 when it
passes.

Options (each may also come from the environment variable in brackets):
  --project ID            Google Cloud project [GCP_PROJECT_ID]
                          (default: gcloud config get-value project)
  --region REGION         region of functions and scheduler [REGION]
                          (default: us-central1)
  --owner-email EMAIL     the owner's e-mail: the one account, created by the deploy
                          [OWNER_EMAIL] (required)
  --extension-id ID       Chrome extension id; pins ALLOWED_ORIGINS to it [EXTENSION_ID]
                          (default: any chrome-extension:// origin)
  --firestore-location L  location of a new Firestore database [FIRESTORE_LOCATION]
                          (default: the region; it cannot be changed later)
  --only NAME             (re)deploy just this function, one of:
{functions}
  --single-url            deploy the one "api" router (paths /api/...) instead of
                          one function per endpoint: two builds instead of {builds}
  --parallel N            deploys in flight at once (default 3: a new project's
                          Cloud Build pool runs only a few builds at a time)
  --no-backups            do not schedule daily Firestore backups (kept 7 days)
  --no-owner-account      do not create the owner's account (nor ask its password)
  --force-rules           replace live Firestore security rules that are neither
                          deny-all nor this project's own
  --alerts                also create alert policies mailing the owner (publish
                          failures, queue items failed, 5xx, p95 latency > 1 s);
                          Cloud Monitoring bills them, about $6 a month
  --budget-usd N          also create a monthly budget of N US dollars for the project,
                          mailing billing admins at 50, 90 and 100 % (needs access to
                          the billing account; skipped with a note otherwise)
  --verify                only check an existing deployment (see above)
  --base-url URL          with --verify: the api router's base URL (paths /api/...)
  --health-url URL        with --verify: the health function's URL
  --capture-url URL       with --verify: the capture function's URL
  --dry-run               print every gcloud command that changes something and run
                          none (not even read-only ones: assumes nothing exists yet)
  -h, --help              show this help
"""

# Flags that take a value, by the attribute they set.
VALUE_FLAGS = {
    "--project": "project",
    "--region": "region",
    "--owner-email": "owner_email",
    "--extension-id": "extension_id",
    "--firestore-location": "firestore_location",
    "--only": "only",
    "--budget-usd": "budget_usd",
    "--parallel": "parallel",
    "--base-url": "base_url",
    "--health-url": "health_url",
    "--capture-url": "capture_url",
}
SWITCHES = {
    "--dry-run": "dry_run",
    "--single-url": "single_url",
    "--alerts": "alerts",
    "--verify": "verify",
    "--no-backups": "no_backups",
    "--no-owner-account": "no_owner_account",
    "--force-rules": "force_rules",
}
# URLs that --verify accepts: https, or plain http on loopback (a local `make dev`).
URL_RE = re.compile(r"(https://[A-Za-z0-9.-]+|http://(127\.0\.0\.1|localhost):[0-9]+)(/[A-Za-z0-9._/-]*)?")
PROJECT_RE = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
REGION_RE = re.compile(r"[a-z]+-[a-z]+[0-9]+")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
EXTENSION_RE = re.compile(r"[a-p]{32}")
BUDGET_RE = re.compile(r"[1-9][0-9]{0,5}")


class UsageError(Exception):
    """A missing or malformed setting: exit status 2 with the usage."""


@dataclass
class Settings:
    """Everything a run needs to know, validated."""

    project: str = ""
    region: str = "us-central1"
    owner_email: str = ""
    extension_id: str = ""
    firestore_location: str = ""
    only: str = ""
    budget_usd: str = ""
    parallel: str = "3"
    base_url: str = ""
    health_url: str = ""
    capture_url: str = ""
    dry_run: bool = False
    single_url: bool = False
    alerts: bool = False
    verify: bool = False
    no_backups: bool = False
    no_owner_account: bool = False
    force_rules: bool = False
    help: bool = False

    @property
    def max_parallel(self) -> int:
        """How many deploys may be in flight at once."""
        return int(self.parallel)


def from_environment() -> Settings:
    """Defaults, overridden by the environment variables the usage names."""
    env = os.environ
    return Settings(
        project=env.get("GCP_PROJECT_ID", ""),
        region=env.get("REGION") or "us-central1",
        owner_email=env.get("OWNER_EMAIL", ""),
        extension_id=env.get("EXTENSION_ID", ""),
        firestore_location=env.get("FIRESTORE_LOCATION", ""),
    )


def parse(argv: list[str]) -> Settings:
    """The settings of this command line: "--flag value" or "--flag=value", then validated."""
    settings = from_environment()
    words = list(argv)
    while words:
        word = words.pop(0)
        if word in ("-h", "--help"):
            settings.help = True
            return settings
        if word in SWITCHES:
            setattr(settings, SWITCHES[word], True)
            continue
        flag, equals, value = word.partition("=")
        if flag not in VALUE_FLAGS:
            raise UsageError(f"unknown argument: {word}")
        if not equals:
            value = words.pop(0) if words and not words[0].startswith("--") else ""
        if not value or value.startswith("--"):
            raise UsageError(f"{flag} needs a value")
        setattr(settings, VALUE_FLAGS[flag], value)
    return settings


def configured_project() -> str:
    """Gcloud's configured project (a local read, not an API call); empty when none."""
    if shutil.which("gcloud") is None:
        return ""
    completed = subprocess.run(
        ["gcloud", "config", "get-value", "project"], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() if completed.returncode == 0 else ""


def validate(settings: Settings, function_names: tuple[str, ...]) -> None:
    """Check every setting before anything is touched; values end up in gcloud arguments and environments."""
    if settings.extension_id and not EXTENSION_RE.fullmatch(settings.extension_id):
        raise UsageError(f"'{settings.extension_id}' is not a Chrome extension id (32 letters a-p)")
    urls = (settings.base_url, settings.health_url, settings.capture_url)
    for url in urls:
        if url and not URL_RE.fullmatch(url):
            raise UsageError(f"'{url}' is not an https:// URL (or http:// on loopback)")
    if any(urls):
        if not settings.verify:
            raise UsageError("--base-url, --health-url and --capture-url go with --verify")
        if not settings.base_url and not (settings.health_url and settings.capture_url):
            raise UsageError("--verify needs --base-url, or both --health-url and --capture-url")
        return  # the check talks to the URLs only
    if not settings.dry_run and shutil.which("gcloud") is None:
        raise SystemExit(
            "deploy.sh: error: gcloud not found: install the Google Cloud CLI "
            "(https://cloud.google.com/sdk/docs/install)"
        )
    settings.project = settings.project or configured_project()
    if not settings.project:
        raise UsageError("no project: pass --project, set GCP_PROJECT_ID or run 'gcloud config set project ID'")
    if not settings.verify and not settings.owner_email:
        raise UsageError("no owner e-mail: pass --owner-email or set OWNER_EMAIL (only it may register)")
    if not PROJECT_RE.fullmatch(settings.project):
        raise UsageError(f"'{settings.project}' is not a project ID")
    if not REGION_RE.fullmatch(settings.region):
        raise UsageError(f"'{settings.region}' is not a region (e.g. us-central1)")
    if not settings.verify and not EMAIL_RE.fullmatch(settings.owner_email):
        raise UsageError(f"'{settings.owner_email}' is not an e-mail address")
    if settings.budget_usd and not BUDGET_RE.fullmatch(settings.budget_usd):
        raise UsageError(f"--budget-usd: '{settings.budget_usd}' is not a whole number of US dollars (1 or more)")
    if not re.fullmatch(r"[1-9][0-9]?", settings.parallel):
        raise UsageError(f"--parallel: '{settings.parallel}' is not a number of deploys from 1 to 99")
    settings.firestore_location = settings.firestore_location or settings.region
    if settings.only:
        settings.only = settings.only.replace("_", "-")
        if settings.only not in function_names:
            raise UsageError(f"--only: unknown function '{settings.only}'")


def print_usage(function_names: tuple[str, ...], stream: object = sys.stdout) -> None:
    """The usage text, naming the functions of the table."""
    names = textwrap.fill(", ".join(function_names), width=80, initial_indent=" " * 26, subsequent_indent=" " * 26)
    text = USAGE.format(functions=names, builds=len(function_names) - 1)
    print(text, end="", file=stream)  # type: ignore[arg-type]
