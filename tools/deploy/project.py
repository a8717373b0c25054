"""Project setup: the APIs the deployment uses, enabled in one call (only the missing ones)."""

from __future__ import annotations

import json
from pathlib import Path

from tools.deploy.gcloud import Gcloud
from tools.deploy.names import GCF_REPOSITORY
from tools.deploy.settings import Settings

APIS = (
    "cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com", "firestore.googleapis.com", "pubsub.googleapis.com",
    "cloudscheduler.googleapis.com", "secretmanager.googleapis.com", "eventarc.googleapis.com",
    "logging.googleapis.com", "iam.googleapis.com", "cloudresourcemanager.googleapis.com",
    "firebaserules.googleapis.com",
)  # fmt: skip
ALERT_APIS = ("monitoring.googleapis.com",)
BUDGET_APIS = ("billingbudgets.googleapis.com", "cloudbilling.googleapis.com")


def enable_apis(gcloud: Gcloud, settings: Settings) -> None:
    """Enable every API the run needs that is not enabled yet."""
    wanted = [*APIS, *(ALERT_APIS if settings.alerts else ()), *(BUDGET_APIS if settings.budget_usd else ())]
    enabled = set((gcloud.query("services", "list", "--enabled", "--format=value(config.name)") or "").split())
    missing = [api for api in wanted if api not in enabled]
    if missing:
        gcloud.change("services", "enable", *missing)


# Every 2nd gen deploy pushes a container image per function into gcf-artifacts of the region. It is created
# before the first deploy (parallel first deploys would race to create it). Its free tier is 0.5 GB, so a
# cleanup policy keeps the 2 most recent versions of each image and deletes the rest (keep rules win).
CLEANUP_POLICY = [
    {"name": "keep-2-most-recent", "action": {"type": "KEEP"}, "mostRecentVersions": {"keepCount": 2}},
    {"name": "delete-older-versions", "action": {"type": "DELETE"}, "condition": {"tagState": "ANY"}},
]
# The same policy as `describe --format=json(cleanupPolicies)` reports it.
CLEANUP_POLICY_DESCRIBED = {
    "delete-older-versions": {"action": "DELETE", "condition": {"tagState": "ANY"}, "id": "delete-older-versions"},
    "keep-2-most-recent": {"action": "KEEP", "id": "keep-2-most-recent", "mostRecentVersions": {"keepCount": 2}},
}


def ensure_image_repository(gcloud: Gcloud, settings: Settings, work: Path) -> None:
    """gcf-artifacts with exactly CLEANUP_POLICY (any other policy, or ours in dry-run mode, is replaced)."""
    location = f"--location={settings.region}"
    repository = GCF_REPOSITORY
    described = gcloud.query("artifacts", "repositories", "describe", repository, location,
                             "--format=json(cleanupPolicies,cleanupPolicyDryRun)")  # fmt: skip
    if described is None:
        gcloud.change("artifacts", "repositories", "create", repository, "--repository-format=docker", location,
                      "--description=Build images of the Tweet Capture API functions")  # fmt: skip
    else:
        found = json.loads(described or "null") or {}
        if found.get("cleanupPolicies") == CLEANUP_POLICY_DESCRIBED and not found.get("cleanupPolicyDryRun"):
            return
    # --no-dry-run: a policy in dry-run mode would only log what it deletes.
    policy_file = work / "cleanup-policy.json"
    text = json.dumps(CLEANUP_POLICY, separators=(",", ":"))
    if not gcloud.dry_run:
        policy_file.write_text(text + "\n")
    gcloud.change("artifacts", "repositories", "set-cleanup-policies", repository, location,
                  f"--policy={policy_file}", "--no-dry-run", note=f"{policy_file.name}: {text}")  # fmt: skip
