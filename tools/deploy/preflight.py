"""Pre-flight: gcloud's version, the login, the project, its billing and its organisation policies.

All read-only, all before the first change: what would fail later with a raw error
stops here with what to do.
"""

from __future__ import annotations

import json

from tools.deploy.gcloud import Failed, Gcloud, say
from tools.deploy.settings import Settings

# The oldest gcloud every command of the deploy has been checked against (tests/deploy/test_gcloud_cli.py
# parses each one with the installed CLI's own tree). Older releases may lack flags it uses.
MINIMUM_GCLOUD = (528, 0, 0)


def check_gcloud_version(gcloud: Gcloud) -> None:
    """Stop on a gcloud older than MINIMUM_GCLOUD, saying so."""
    ok, answer = gcloud.try_read("version", "--format=json")
    if not ok:
        raise Failed(f"could not ask gcloud its version ({answer})")
    found = str(json.loads(answer or "{}").get("Google Cloud SDK", "0"))
    version = tuple(int(part) for part in found.split(".")[:3] if part.isdigit())
    if version < MINIMUM_GCLOUD:
        minimum = ".".join(map(str, MINIMUM_GCLOUD))
        raise Failed(
            f"gcloud {found} is older than {minimum}, the oldest release this deploy is checked against: "
            "run 'gcloud components update' (or update the package you installed it with), then ./deploy.sh again"
        )


def check_login_and_project(gcloud: Gcloud, settings: Settings) -> tuple[str, str]:
    """(project number, gcloud's configuration directory); stops without a working login or a visible project."""
    ok, account = gcloud.try_read("auth", "list", "--filter=status:ACTIVE", "--format=value(account)")
    if not ok or not account:
        raise Failed("gcloud has no active account: run 'gcloud auth login'")
    # Proves the credentials still work (and refreshes them once, before parallel deploys all need them).
    if not gcloud.try_read("auth", "print-access-token")[0]:
        raise Failed(f"the credentials of {account} no longer work: run 'gcloud auth login'")
    ok, number = gcloud.try_read("projects", "describe", settings.project, "--format=value(projectNumber)")
    if not ok or not number:
        raise Failed(f"project '{settings.project}' does not exist or {account} cannot see it")
    config = gcloud.try_read("info", "--format=value(config.paths.global_config_dir)")[1]
    say(f"Deploying to project {settings.project} ({settings.region}) as {account}")
    return number, config


def check_billing(gcloud: Gcloud, project: str) -> None:
    """Stop when the project has no billing account: enabling the APIs would fail with a raw FAILED_PRECONDITION."""
    ok, answer = gcloud.try_read("billing", "projects", "describe", project, "--format=value(billingEnabled)")
    if not ok:
        say(f"Note: could not read the billing of {project} ({answer}); assuming it is enabled.")
        return
    if answer.strip().lower() != "true":
        raise Failed(
            f"billing is not enabled on {project}: Cloud Functions, Cloud Build and Artifact Registry need a "
            "billing account, even within the free tier. Link one (Billing in the Cloud console, or "
            f"'gcloud billing projects link {project} --billing-account=ACCOUNT_ID'), then run ./deploy.sh again. "
            "Nothing was changed."
        )


# What each organisation policy constraint means for this deploy, and what to do about it.
ADVICE = {
    "iam.allowedPolicyMemberDomains": "the HTTP functions cannot be made public (allUsers), which the extension "
    "needs; an Organization Policy Administrator can allow all members for this project only",
    "iam.managed.allowedPolicyMembers": "the managed constraint does not admit allUsers, so the HTTP functions "
    "cannot be public; an administrator can add allUsers to its allowed principal sets for this project",
    "cloudfunctions.allowedIngressSettings": "the functions need ingress ALLOW_ALL (HTTP) and ALLOW_INTERNAL_ONLY "
    "(retry-queue); an administrator can allow both for this project",
    "run.allowedIngress": "Cloud Run services need ingress 'all' (HTTP functions) and 'internal' (retry-queue); "
    "an administrator can allow both for this project",
    "gcp.resourceLocations": "resources may only be created in the allowed locations: pick an allowed "
    "--region and --firestore-location",
}
NEEDED = {
    "cloudfunctions.allowedIngressSettings": {"ALLOW_ALL", "ALLOW_INTERNAL_ONLY"},
    "run.allowedIngress": {"all", "internal"},
}


def check_org_policies(gcloud: Gcloud, settings: Settings, public: bool) -> None:
    """Read each relevant effective policy once; stop on one that forbids the deployment, with one line of advice."""
    problems = []
    for constraint, advice in ADVICE.items():
        if constraint.startswith("iam.") and not public:
            continue
        ok, answer = gcloud.try_read("org-policies", "describe", constraint, "--effective", "--format=json")
        if not ok:
            say(f"Note: could not read the organisation policy {constraint} of {settings.project} ({answer}); "
                "assuming it allows the deployment.")  # fmt: skip
            continue
        policy = json.loads(answer or "{}")
        if _forbids(constraint, policy, settings):
            values = [v for rule in policy.get("spec", {}).get("rules", []) for v in _values(rule)]
            problems.append(
                f"  - constraints/{constraint}" + (f" (admits {', '.join(values)})" if values else "") + f": {advice}."
            )
    if problems:
        raise Failed(
            f"organisation policies of {settings.project} forbid what this deployment needs:\n"
            + "\n".join(problems)
            + "\nNothing was deployed. An Organization Policy Administrator can override a constraint for this "
            "project only (gcloud org-policies set-policy POLICY_FILE with a rule for "
            f"projects/{settings.project}; see docs/deployment.md, 'Organisation policies'), or deploy to a "
            "project outside the organisation. Then run ./deploy.sh again: it continues where "
            "this run stopped."
        )


def _forbids(constraint: str, policy: dict, settings: Settings) -> bool:
    """Whether an effective policy (Org Policy v2 form) rules out this deployment."""
    for rule in policy.get("spec", {}).get("rules", []):
        if rule.get("allowAll") or rule.get("condition"):
            continue
        if rule.get("denyAll"):
            return True
        if constraint == "iam.managed.allowedPolicyMembers":
            if rule.get("enforce"):
                sets = rule.get("parameters", {}).get("allowedPrincipalSets", [])
                members = rule.get("parameters", {}).get("allowedMemberSubjects", [])
                return "allUsers" not in members and not any("allUsers" in s for s in sets)
            continue
        allowed = rule.get("values", {}).get("allowedValues", [])
        denied = rule.get("values", {}).get("deniedValues", [])
        if constraint == "iam.allowedPolicyMemberDomains":
            return bool(allowed)
        if constraint in NEEDED:
            return bool(allowed and not NEEDED[constraint] <= set(allowed)) or bool(NEEDED[constraint] & set(denied))
        if constraint == "gcp.resourceLocations":
            wanted = {settings.region, settings.firestore_location}
            return bool(allowed) and not all(_location_allowed(place, allowed) for place in wanted)
    return False


def _location_allowed(place: str, allowed: list[str]) -> bool:
    """A value group (in:us-locations) is taken as allowing its continent's regions; an exact region as itself."""
    for value in allowed:
        value = value.removeprefix("in:")
        if value == place or (value.endswith("-locations") and place.startswith(value.split("-")[0])):
            return True
    return False


def _values(rule: dict) -> list[str]:
    values = rule.get("values", {}).get("allowedValues", [])
    parameters = rule.get("parameters", {})
    return [*values, *parameters.get("allowedMemberSubjects", []), *parameters.get("allowedPrincipalSets", [])]
