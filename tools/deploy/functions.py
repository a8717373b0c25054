"""The functions: the table (from shared/web/endpoints.py), their deploy arguments, a bounded pool of deploys."""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.web.endpoints import ENDPOINTS, HTTP_FUNCTIONS, NEEDS_JWT
from tools.deploy import names
from tools.deploy.gcloud import Failed, Gcloud, private_config, say
from tools.deploy.settings import Settings

ROUTER = "api"
RETRY = "retry-queue"
# Deployed names are hyphenated (valid Cloud Run service names); the entry point is the name with underscores.
# health comes first: it is deployed alone, before the others (it sets up what a region's deploys share).
PER_ENDPOINT = ("health", *sorted(n.replace("_", "-") for n in HTTP_FUNCTIONS if n not in (ROUTER, "health")))
PATHS = {e.entry_point.replace("_", "-"): e.path for e in ENDPOINTS if e.entry_point and e.path}
ALL = (*PER_ENDPOINT, ROUTER, RETRY)
# bcrypt is CPU-bound and CPU grows with memory: 512Mi halves its latency.
LARGE = {"register", "login", ROUTER}
# The functions that serve register, and so get REGISTRATION_CODE (the router serves every path).
REGISTERS = ("register", ROUTER)


def entry_point(name: str) -> str:
    """The entry point of a function: its name with underscores."""
    return name.replace("-", "_")


def needs_key(name: str) -> bool:
    """Whether the function signs or verifies tokens (and so gets JWT_SECRET_KEY and the keyed account)."""
    return entry_point(name) in NEEDS_JWT


def registers(name: str) -> bool:
    """Whether the function creates accounts (and so gets REGISTRATION_CODE)."""
    return name in REGISTERS


def selected(settings: Settings) -> list[str]:
    """The functions this run deploys, in deployment order."""
    if settings.only:
        return [settings.only]
    return [ROUTER, RETRY] if settings.single_url else [*PER_ENDPOINT, RETRY]


def deploy_args(settings: Settings, name: str, pins: dict[str, str]) -> list[str]:
    """The `gcloud functions deploy` arguments of one function, sized for a $0 single-user budget.

    PINS: the version number of each secret (secret.ensure_secrets).
    """
    project, region = settings.project, settings.region
    account = names.keyed_account(project) if needs_key(name) else names.plain_account(project)
    args = [
        "functions", "deploy", name, "--gen2", f"--runtime={names.RUNTIME}", f"--region={region}", "--source=.",
        f"--entry-point={entry_point(name)}", f"--service-account={account}",
        f"--build-service-account=projects/{project}/serviceAccounts/{names.build_account(project)}",
        f"--docker-repository=projects/{project}/locations/{region}/repositories/{names.GCF_REPOSITORY}",
    ]  # fmt: skip
    env = [f"GCP_PROJECT_ID={project}", f"PUBSUB_TOPIC={names.TOPIC}"]
    memory, timeout, max_instances = ("512Mi" if name in LARGE else "256Mi"), "30s", 3
    if name == RETRY:
        # One instance: ticks are 10 minutes apart. --no-retry said explicitly (gcloud keeps a retry policy set
        # by hand otherwise); the next tick is the retry. Only Eventarc's push reaches it: ingress internal-only.
        timeout, max_instances = "120s", 1
        args += [f"--trigger-topic={names.TICK_TOPIC}", f"--trigger-service-account={account}", "--no-retry",
                 "--ingress-settings=internal-only"]  # fmt: skip
    else:
        args += ["--trigger-http", "--allow-unauthenticated"]
        env.append(f"ALLOWED_EMAILS={settings.owner_email}")
        if settings.extension_id:
            env.append(f"ALLOWED_ORIGINS=chrome-extension://{settings.extension_id}")
    # "^|^" makes "|" the separator, so values may contain commas (gcloud topic escaping).
    args += [f"--memory={memory}", f"--timeout={timeout}", "--min-instances=0", f"--max-instances={max_instances}",
             "--set-env-vars=^|^" + "|".join(env)]  # fmt: skip
    secrets = [f"JWT_SECRET_KEY={names.SECRET}:{pins[names.SECRET]}"] if needs_key(name) else []
    if registers(name):
        secrets.append(f"REGISTRATION_CODE={names.REGISTRATION_SECRET}:{pins[names.REGISTRATION_SECRET]}")
    if secrets:
        args.append("--set-secrets=" + ",".join(secrets))
    return args


def deploy(gcloud: Gcloud, settings: Settings, functions: list[str], pins: dict[str, str], user_config: str) -> None:
    """Deploy the first function alone, then the rest at most settings.max_parallel at a time.

    A first deploy sets up what every deploy of the region shares (source buckets, service agents). A new
    project's Cloud Build pool runs only a few builds at once; queued ones expire ("EXPIRED"), so the pool
    is bounded. Each parallel gcloud gets a private copy of the configuration directory.
    """
    commands = {name: gcloud.with_project(deploy_args(settings, name, pins)) for name in functions}
    if gcloud.dry_run:
        for command in commands.values():
            gcloud.show(command)
        return
    first, rest = functions[0], functions[1:]
    say(f"Deploying {first} first, alone (a first deploy sets up the region); this takes a few minutes...")
    failed = _report(first, _run(gcloud, commands[first], None))
    work = Path(tempfile.mkdtemp(prefix="deploy."))
    try:
        if not failed and rest:
            say(f"Deploying {len(rest)} more, {min(settings.max_parallel, len(rest))} at a time...")
            with ThreadPoolExecutor(max_workers=settings.max_parallel) as pool:
                futures = {
                    name: pool.submit(_run, gcloud, commands[name], (user_config, work / f"gcloud-config-{name}"))
                    for name in rest
                }
                results = {name: future.result() for name, future in futures.items()}
            failed = [name for name in rest if _report(name, results[name])]
    finally:
        # The copies hold credentials: gone as soon as they are no longer needed.
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        if any(PUBLIC_DENIED in text for text in _LOGS.values()):
            say("The organisation policy constraints/iam.allowedPolicyMemberDomains forbids public functions;",
                "see docs/deployment.md, 'Troubleshooting'.")  # fmt: skip
        raise Failed(f"deployment failed for: {' '.join(failed)}; run ./deploy.sh again to finish")


PUBLIC_DENIED = "do not belong to a permitted customer"
_LOGS: dict[str, str] = {}


def _run(gcloud: Gcloud, command: list[str], config: tuple[str | None, Path] | None) -> tuple[int, str]:
    gcloud.show(command)
    config_dir = private_config(*config) if config else None
    result = gcloud.call(command, config_dir=config_dir)
    return result.status, result.err


def _report(name: str, outcome: tuple[int, str]) -> list[str]:
    status, log = outcome
    _LOGS[name] = log
    if status == 0:
        say(f"  deployed {name}")
        return []
    say(f"  FAILED {name}; its gcloud output:", *("    | " + line for line in log.splitlines()))
    return [name]
