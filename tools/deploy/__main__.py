"""Entry point: `python3 -m tools.deploy [flags]`, run from the repository root (./deploy.sh does that)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from tools.deploy import (
    alerts,
    datastores,
    functions,
    iam,
    names,
    owner,
    preflight,
    project,
    rules,
    scheduler,
    secret,
    settings,
    verify,
)
from tools.deploy.gcloud import Failed, Gcloud, say


def deploy(config: settings.Settings, gcloud: Gcloud, work: Path) -> int:
    """Every step of a deployment, in order; the exit status."""
    if not config.extension_id:
        say("Note: no --extension-id, so ALLOWED_ORIGINS stays at its default (any chrome-extension:// origin).")
    chosen = functions.selected(config)
    owner.check_password_source(config, chosen)
    number, user_config = "", ""
    if gcloud.dry_run:
        say("Dry run: nothing is read or changed; every resource is assumed missing.")
    else:
        preflight.check_gcloud_version(gcloud)
        number, user_config = preflight.check_login_and_project(gcloud, config)
        preflight.check_billing(gcloud, config.project)
        preflight.check_org_policies(gcloud, config, public=chosen != [functions.RETRY])
    project.enable_apis(gcloud, config)
    datastores.ensure_database(gcloud, config)
    datastores.ensure_ttl_policies(gcloud)
    datastores.ensure_indexes(gcloud)
    datastores.ensure_backups(gcloud, config)
    rules.ensure_security_rules(gcloud, config)
    scheduler.ensure_topics(gcloud)
    scheduler.ensure_tick_job(gcloud, config)
    grants = iam.ensure_runtime_accounts(gcloud)
    pins = secret.ensure_secrets(gcloud)
    project.ensure_image_repository(gcloud, config, work)
    grants += iam.ensure_build_account(gcloud, config.region)
    if functions.RETRY in chosen:
        iam.ensure_eventarc_agent(gcloud, number)
    iam.wait_for_grants(gcloud, grants)
    functions.deploy(gcloud, config, chosen, pins, user_config)
    if functions.RETRY in chosen:
        iam.ensure_retry_invoker(gcloud, config)
    owner.ensure_owner_account(gcloud, config, chosen, pins[names.REGISTRATION_SECRET])
    alerts.ensure_alerts(gcloud, config, [*functions.PER_ENDPOINT, functions.ROUTER])
    alerts.ensure_budget(gcloud, config)
    health, capture = verify.print_urls(gcloud, config)
    if gcloud.dry_run or config.only == functions.RETRY:
        return 0
    if config.only:
        found = verify.deployed_urls(gcloud, config)
        if found is None:
            say("Note: health or capture is not deployed, so the deployment was not verified.")
            return 0
        health, capture = found
    if not verify.verify(gcloud, config, health, capture):
        raise Failed("the deployment does not answer as it should (see the verdict above)")
    return 0


def verify_only(config: settings.Settings, gcloud: Gcloud) -> int:
    """--verify: the URLs given, or those of the deployed functions (with the tick and the backups)."""
    if config.base_url or config.health_url:
        base = config.base_url.rstrip("/")
        health = config.health_url or f"{base}/api/health"
        capture = config.capture_url or f"{base}/api/tweets/capture"
        return 0 if verify.verify(None, config, health, capture) else 1
    if gcloud.dry_run:
        raise Failed("--verify has nothing to check in a dry run")
    found = verify.deployed_urls(gcloud, config)
    if found is None:
        raise Failed(
            f"health and capture are not deployed in {config.project} ({config.region}): run ./deploy.sh first"
        )
    return 0 if verify.verify(gcloud, config, *found) else 1


def main(argv: list[str]) -> int:
    """Parse, validate, run; errors as 'deploy.sh: error: ...' with exit status 1, usage errors with 2."""
    try:
        config = settings.parse(argv)
        if config.help:
            settings.print_usage(functions.ALL)
            return 0
        settings.validate(config, functions.ALL)
    except settings.UsageError as error:
        say(f"deploy.sh: {error}", "")
        settings.print_usage(functions.ALL, sys.stderr)
        return 2
    gcloud = Gcloud(config.project, dry_run=config.dry_run)
    work = Path(tempfile.mkdtemp(prefix="deploy."))
    try:
        return verify_only(config, gcloud) if config.verify else deploy(config, gcloud, work)
    except Failed as error:
        say(f"deploy.sh: error: {error}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
