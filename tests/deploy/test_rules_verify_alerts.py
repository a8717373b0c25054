"""deploy.sh against the fakes: security rules release, the final verification, alerts, budget, key rotation."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from tests.deploy.conftest import (
    ACCESS_TOKEN,
    OWNER,
    PROJECT,
    ROOT,
    STANDARD_ARGS,
    DeployRun,
    FakeCloud,
    empty_project,
)
from tests.deploy.fake_gcloud import parse_dict_flag

MakeCloud = Callable[..., FakeCloud]
SECRET = "tweet-capture-jwt-key"
RELEASE = f"projects/{PROJECT}/releases/cloud.firestore"
RULES = (ROOT / "firestore.rules").read_text()
# Firebase's "test mode" rules: open to everyone until a date.
OPEN_RULES = (
    "rules_version = '2';\nservice cloud.firestore {\n  match /databases/{database}/documents {\n"
    "    match /{document=**} {\n      allow read, write: if request.time < timestamp.date(2030, 1, 1);\n"
    "    }\n  }\n}\n"
)


def api_writes(run: DeployRun) -> list[tuple[str, str]]:
    """The REST calls of a run that change something."""
    return [(call["method"], call["path"]) for call in run.api_calls if call["method"] != "GET"]


# --------------------------------------------------------------------------
# Firestore security rules


def test_the_first_run_releases_the_deny_all_rules(first_run: DeployRun) -> None:
    """The rules file becomes a ruleset released as cloud.firestore, through authenticated REST calls."""
    release = first_run.state["rules"]["releases"][RELEASE]
    ruleset = first_run.state["rules"]["rulesets"][release["rulesetName"]]
    assert ruleset["source"]["files"] == [{"name": "firestore.rules", "content": RULES}]
    assert api_writes(first_run) == [
        ("POST", f"/v1/projects/{PROJECT}/rulesets"),
        ("POST", f"/v1/projects/{PROJECT}/releases"),
    ]
    assert all(call["authorization"] for call in first_run.api_calls)
    assert "security rules released" in first_run.stderr


def test_the_rules_file_denies_everything() -> None:
    """firestore.rules has one match for every document, allowing nothing (checked for real on the emulator too)."""
    assert "allow read, write: if false;" in RULES
    assert "match /{document=**}" in RULES
    assert RULES.count("allow") == 1


def test_a_second_run_only_reads_the_live_rules(second_run: DeployRun) -> None:
    """When the live release serves exactly the file, a run creates no ruleset and moves no release."""
    assert api_writes(second_run) == []
    assert [call["path"] for call in second_run.api_calls] == [
        f"/v1/{RELEASE}",
        f"/v1/{second_run.state['rules']['releases'][RELEASE]['rulesetName']}",
    ]
    assert "security rules unchanged" in second_run.stderr


def test_someone_elses_live_rules_stop_the_run(make_cloud: MakeCloud, deployed_project: dict[str, Any]) -> None:
    """Live rules that are neither deny-all nor the file (a reused Firebase project) are left alone: the run stops.

    Before, deploy.sh replaced whatever was live, breaking any app that depended on those rules.
    """
    deployed_project["rules"]["rulesets"][f"projects/{PROJECT}/rulesets/open"] = {
        "source": {"files": [{"name": "firestore.rules", "content": OPEN_RULES}]}
    }
    deployed_project["rules"]["releases"][RELEASE]["rulesetName"] = f"projects/{PROJECT}/rulesets/open"
    run = make_cloud(deployed_project).run(*STANDARD_ARGS, "--only", "health")
    assert run.returncode == 1
    assert api_writes(run) == []
    assert "neither deny-all nor firestore.rules" in run.stderr
    assert "--force-rules" in run.stderr
    assert run.deploys() == {}


def test_force_rules_replaces_someone_elses_rules(make_cloud: MakeCloud, deployed_project: dict[str, Any]) -> None:
    """With --force-rules, rules opened up by hand get a new ruleset with the file's."""
    rules = deployed_project["rules"]
    rules["rulesets"][f"projects/{PROJECT}/rulesets/open"] = {
        "source": {"files": [{"name": "firestore.rules", "content": OPEN_RULES}]}
    }
    rules["releases"][RELEASE]["rulesetName"] = f"projects/{PROJECT}/rulesets/open"
    run = make_cloud(deployed_project).run(*STANDARD_ARGS, "--only", "health", "--force-rules")
    assert run.returncode == 0, run.stderr
    assert api_writes(run) == [("POST", f"/v1/projects/{PROJECT}/rulesets"), ("PATCH", f"/v1/{RELEASE}")]
    live = run.state["rules"]["rulesets"][run.state["rules"]["releases"][RELEASE]["rulesetName"]]
    assert live["source"]["files"][0]["content"] == RULES


def test_other_deny_all_rules_are_replaced_without_asking(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """Firebase's locked-mode default (deny-all, other text) is safe to replace: no flag needed."""
    rules = deployed_project["rules"]
    locked = (
        "rules_version = '2';\nservice cloud.firestore {\n  match /databases/{database}/documents {\n"
        "    match /{document=**} {\n      allow read, write: if false;\n    }\n  }\n}\n"
    )
    rules["rulesets"][f"projects/{PROJECT}/rulesets/locked"] = {
        "source": {"files": [{"name": "x.rules", "content": locked}]}
    }
    rules["releases"][RELEASE]["rulesetName"] = f"projects/{PROJECT}/rulesets/locked"
    run = make_cloud(deployed_project).run(*STANDARD_ARGS, "--only", "health")
    assert run.returncode == 0, run.stderr
    assert api_writes(run) == [("POST", f"/v1/projects/{PROJECT}/rulesets"), ("PATCH", f"/v1/{RELEASE}")]


def test_a_just_enabled_rules_api_is_waited_for(make_cloud: MakeCloud) -> None:
    """The Firebase Rules API's "has not been used in project … before or it is disabled" is retried with back-off."""
    run = make_cloud(empty_project() | {"rules_api_disabled": 2}).run(*STANDARD_ARGS)
    assert run.returncode == 0, run.stderr
    assert run.sleeps == [10.0, 20.0]
    assert RELEASE in run.state["rules"]["releases"]


def test_the_access_token_travels_only_through_a_pipe(first_run: DeployRun) -> None:
    """The token the REST calls carry is in no gcloud argument and no output of the run."""
    for call in first_run.calls:
        assert all(ACCESS_TOKEN not in word for word in call.argv)
    assert ACCESS_TOKEN not in first_run.stdout + first_run.stderr


# --------------------------------------------------------------------------
# The verification


def test_a_deploy_ends_with_a_passing_verification(first_run: DeployRun) -> None:
    """After the deploys, one line says health, the capture preflight and the tokenless capture answered right."""
    (verdict,) = [line for line in first_run.stderr.splitlines() if line.startswith("verify: ")]
    assert verdict.startswith("verify: OK: health 200 (firestore and pubsub connected)")
    assert "401 problem JSON" in verdict
    assert "chrome-extension://abcdefghijklmnopabcdefghijklmnop" in verdict


def test_verify_alone_checks_the_deployed_functions_and_changes_nothing(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """./deploy.sh --verify needs no owner e-mail, only looks up the two URLs, and exits 0 on a good deployment."""
    run = make_cloud(deployed_project).run("--project", PROJECT, "--verify")
    assert run.returncode == 0, run.stderr
    assert run.changes == []
    assert [call.argv[:3] for call in run.calls][:2] == [
        ("functions", "describe", "health"),
        ("functions", "describe", "capture"),
    ]
    assert "verify: OK" in run.stderr
    assert f"retry tick publishes to projects/{PROJECT}/topics/tweet-capture-retry-tick" in run.stderr


def test_verify_reports_a_backend_that_is_down(make_cloud: MakeCloud, deployed_project: dict[str, Any]) -> None:
    """A health answer with a disconnected backend fails the check (exit 1) after two more tries, 20 s apart."""
    down = {"status": "unhealthy", "services": {"firestore": "connected", "pubsub": "disconnected"}}
    run = make_cloud(deployed_project | {"function_health": down}).run("--project", PROJECT, "--verify")
    assert run.returncode == 1
    assert run.sleeps == [20.0, 20.0]
    (verdict,) = [line for line in run.stderr.splitlines() if line.startswith("verify: ")]
    assert verdict.startswith("verify: FAILED: health is not connected to both backends")
    assert '"pubsub": "disconnected"' in verdict


def test_a_deploy_whose_verification_fails_exits_non_zero(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """Deployed but not answering as it should: the configuration is printed, the verdict says why, exit 1."""
    down = {"status": "unhealthy", "services": {"firestore": "disconnected", "pubsub": "connected"}}
    run = make_cloud(deployed_project | {"function_health": down}).run(*STANDARD_ARGS)
    assert run.returncode == 1
    assert json.loads(run.stdout)["healthUrl"]
    assert "verify: FAILED" in run.stderr
    assert "does not answer as it should" in run.stderr


def test_verify_with_urls_needs_no_gcloud(make_cloud: MakeCloud, deployed_project: dict[str, Any]) -> None:
    """--verify --health-url U --capture-url U checks those URLs only: no project, no gcloud call."""
    cloud = make_cloud(deployed_project)
    base = cloud.apis.url
    run = cloud.run("--verify", "--health-url", f"{base}fn/health", "--capture-url", f"{base}fn/capture")
    assert run.returncode == 0, run.stderr
    assert run.calls == []
    assert "verify: OK" in run.stderr


def test_verify_of_something_else_fails_with_each_reason(make_cloud: MakeCloud) -> None:
    """Pointed at URLs that are not the service, every check fails and the verdict lists why."""
    cloud = make_cloud()
    base = cloud.apis.url
    run = cloud.run("--verify", "--health-url", f"{base}fn/nothing", "--capture-url", f"{base}fn/nothing")
    assert run.returncode == 1
    (verdict,) = [line for line in run.stderr.splitlines() if line.startswith("verify: ")]
    assert "health answered 404" in verdict
    assert "the capture preflight answered 404" in verdict
    assert "a capture without a token answered 404, not 401" in verdict


# --------------------------------------------------------------------------
# Alerts and budget


def test_alerts_are_opt_in(first_run: DeployRun) -> None:
    """Without --alerts, no log-based metric, channel or policy is made: the default stays free."""
    assert not any(call.is_("logging", "metrics") for call in first_run.calls)
    assert not any(call["path"].startswith("/v3/") for call in first_run.api_calls)
    assert "monitoring.googleapis.com" not in first_run.state["services"]


def test_alerts_create_metrics_a_channel_and_four_policies_once(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """--alerts: two log-based metrics, the owner's e-mail channel and the four policies; a re-run adds nothing."""
    cloud = make_cloud(deployed_project)
    run = cloud.run(*STANDARD_ARGS, "--alerts", "--only", "health")
    assert run.returncode == 0, run.stderr
    assert "monitoring.googleapis.com" in run.state["services"]
    metrics = run.state["log_metrics"]
    assert set(metrics) == {"tweet_capture_publish_failures", "tweet_capture_queue_failed"}
    assert 'jsonPayload.message:"publish failed"' in metrics["tweet_capture_publish_failures"]["filter"]
    assert "jsonPayload.failed>0" in metrics["tweet_capture_queue_failed"]["filter"]
    (channel,) = run.state["monitoring"]["channels"]
    assert channel["type"] == "email"
    assert channel["labels"] == {"email_address": OWNER}
    policies = {policy["displayName"]: policy for policy in run.state["monitoring"]["policies"]}
    assert set(policies) == {
        "Tweet Capture API: publish failures",
        "Tweet Capture API: queue items failed",
        "Tweet Capture API: 5xx rate",
        "Tweet Capture API: p95 latency",
    }
    for policy in policies.values():
        assert policy["notificationChannels"] == [channel["name"]]
        assert len(policy["conditions"]) == 1
    latency = policies["Tweet Capture API: p95 latency"]["conditions"][0]["conditionThreshold"]
    assert latency["thresholdValue"] == 1000.0
    assert latency["aggregations"][0]["perSeriesAligner"] == "ALIGN_PERCENTILE_95"
    again = cloud.run(*STANDARD_ARGS, "--alerts", "--only", "health")
    assert again.returncode == 0, again.stderr
    assert [(m, p) for m, p in api_writes(again) if p.startswith("/v3/")] == []
    assert not any(call.is_("logging", "metrics", "create") for call in again.calls)
    assert "alert policies unchanged" in again.stderr


def test_a_budget_is_created_once_on_the_projects_billing_account(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """--budget-usd 5: a monthly 5 USD budget filtered to the project, thresholds 50/90/100 %; a re-run adds none."""
    cloud = make_cloud(deployed_project | {"billing": {"account": "0X0X0X-0X0X0X-0X0X0X"}})
    run = cloud.run(*STANDARD_ARGS, "--budget-usd", "5", "--only", "health")
    assert run.returncode == 0, run.stderr
    (budget,) = run.state["billing"]["budgets"]
    assert budget["amount"] == "5USD"
    assert budget["projects"] == [f"projects/{PROJECT}"]
    assert budget["thresholds"] == ["percent=0.5", "percent=0.9", "percent=1.0"]
    again = cloud.run(*STANDARD_ARGS, "--budget-usd", "5", "--only", "health")
    assert again.returncode == 0, again.stderr
    assert len(again.state["billing"]["budgets"]) == 1


def test_without_billing_access_the_budget_is_skipped_with_a_note(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """A deployer who cannot see the billing account gets a note naming who can, and a successful run."""
    billing = {"account": "0X0X0X-0X0X0X-0X0X0X", "deny_account": True}
    run = make_cloud(deployed_project | {"billing": billing}).run(
        *STANDARD_ARGS, "--budget-usd", "5", "--only", "health"
    )
    assert run.returncode == 0, run.stderr
    assert "no budget created: no access to billing account" in run.stderr
    assert not any(call.is_("billing", "budgets", "create") for call in run.calls)


def test_a_budget_must_be_a_whole_number_of_dollars(make_cloud: MakeCloud) -> None:
    """--budget-usd takes 1 or more whole US dollars; anything else is a usage error."""
    run = make_cloud().run(*STANDARD_ARGS, "--budget-usd", "5.5")
    assert run.returncode == 2
    assert "not a whole number of US dollars" in run.stderr


# --------------------------------------------------------------------------
# The key's version


def test_after_a_key_rotation_every_function_is_pinned_to_the_new_version(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """A new version added by hand (a rotation) is what the next deploy pins, by number, on every token function."""
    state = copy.deepcopy(deployed_project)
    versions = state["secrets"][SECRET]["versions"]
    versions.append({**versions[0], "sha256": "0" * 64})
    run = make_cloud(state).run(*STANDARD_ARGS)
    assert run.returncode == 0, run.stderr
    pinned = {parse_dict_flag(call.flag("set-secrets") or "=").get("JWT_SECRET_KEY") for call in run.deploys().values()}
    assert pinned - {None} == {f"{SECRET}:2"}


def test_a_dry_run_of_a_fresh_project_shows_what_a_real_run_does(make_cloud: MakeCloud) -> None:
    """The dry run prints the rules release and the verification is left out (nothing is deployed)."""
    run = make_cloud(empty_project()).run(*STANDARD_ARGS, "--dry-run")
    assert run.returncode == 0, run.stderr
    assert "+ firebaserules: release firestore.rules" in run.stdout
    assert "verify:" not in run.stderr
    assert run.api_calls == []
