"""What a fresh (or reused) project really does on a first run, each reproduced in the fakes with Google's text.

Each of these failed with the former all-bash deploy.sh: a tick publishing to the
configured project's topic, propagation messages not retried, ten builds at once
expiring, billing off found by a raw error, organisation policies found late, a
disabled newest key version pinned, index contention not retried, someone else's
security rules overwritten, no backups.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tests.deploy.conftest import PROJECT, REGION, STANDARD_ARGS, DeployRun, FakeCloud, empty_project
from tests.deploy.fake_gcloud import parse_dict_flag
from tests.deploy.test_first_run_failures import BACKOFF, assert_fully_deployed, transient
from tools.deploy.datastores import INDEXES

MakeCloud = Callable[..., FakeCloud]
TICK_TOPIC = f"projects/{PROJECT}/topics/tweet-capture-retry-tick"
SECRET = "tweet-capture-jwt-key"


def job(run: DeployRun) -> dict[str, Any]:
    """The one scheduler job."""
    (found,) = run.state["jobs"].values()
    return found


# --------------------------------------------------------------------------
# The retry tick's topic


def test_the_tick_targets_this_projects_topic_whatever_gcloud_is_configured_for(make_cloud: MakeCloud) -> None:
    """After `gcloud init` on another project, the job still publishes to this project's tick topic."""
    run = make_cloud(empty_project() | {"config_project": "some-other-project"}).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert job(run)["pubsubTarget"]["topicName"] == TICK_TOPIC
    (create,) = [call for call in run.calls if call.is_("scheduler", "jobs", "create", "pubsub")]
    assert create.flag("topic") == TICK_TOPIC


def test_the_tick_is_created_without_any_configured_project(make_cloud: MakeCloud) -> None:
    """With no project configured in gcloud at all, creating the job does not fail."""
    run = make_cloud(empty_project() | {"config_project": ""}).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert job(run)["pubsubTarget"]["topicName"] == TICK_TOPIC


def test_a_tick_aimed_at_another_project_is_repaired_and_verify_notices_it(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """--verify fails naming the wrong topic; the next deploy updates the job to the full path of its own topic."""
    state = copy.deepcopy(deployed_project)
    next(iter(state["jobs"].values()))["pubsubTarget"]["topicName"] = "projects/other/topics/tweet-capture-retry-tick"
    cloud = make_cloud(state)
    checked = cloud.run("--project", PROJECT, "--verify")
    assert checked.returncode == 1
    assert "the retry tick publishes to projects/other/topics/tweet-capture-retry-tick" in checked.stderr
    repaired = cloud.run(*STANDARD_ARGS, "--only", "health")
    assert repaired.returncode == 0, repaired.stderr
    assert job(repaired)["pubsubTarget"]["topicName"] == TICK_TOPIC


# --------------------------------------------------------------------------
# IAM grants seconds old, Cloud Build's pool, Firestore's contention


def test_grants_are_read_back_before_the_first_build_and_their_propagation_retried(make_cloud: MakeCloud) -> None:
    """The first build waits for the new grants to read back; Artifact Registry's and the bucket's denials retry."""
    failures = [
        transient("functions deploy", "artifact_repository", 1, "health"),
        transient("functions deploy", "source_bucket", 1, "health"),
    ]
    run = make_cloud(empty_project() | {"transient": failures}).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert [call.status for call in run.attempts("health")] == [1, 1, 0]
    assert run.sleeps == BACKOFF[:2]
    first_deploy = min(call.start for call in run.deploys().values())
    grants = [call for call in run.changes if "add-iam-policy-binding" in call.argv and call.end <= first_deploy]
    last_grant = max(call.end for call in grants)
    read_back = [c for c in run.calls if "get-iam-policy" in c.argv and last_grant <= c.start <= first_deploy]
    assert read_back


def test_at_most_three_builds_at_once_so_none_expires(make_cloud: MakeCloud) -> None:
    """A new project's Cloud Build pool (3 slots here) expires queued builds: the deploys stay within it."""
    run = make_cloud(empty_project() | {"build_slots": 3}).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert all(call.status == 0 for call in run.calls if call.is_("functions", "deploy"))


def test_parallel_raises_the_bound(make_cloud: MakeCloud) -> None:
    """--parallel 5: five deploys in flight at once (each waits to see the others start)."""
    run = make_cloud(empty_project() | {"deploy_barrier": 6}).run(*STANDARD_ARGS, "--parallel", "5")
    assert_fully_deployed(run)
    deploys = [call for name, call in run.deploys().items() if name != "health"]
    assert max(sum(c.start <= call.start < c.end for c in deploys) for call in deploys) == 5


def test_an_expired_build_is_retried(make_cloud: MakeCloud) -> None:
    """A build that expired in Cloud Build's queue ("Build failed with status: EXPIRED") is tried again."""
    state = empty_project() | {"transient": [transient("functions deploy", "build_expired", 1, "login")]}
    run = make_cloud(state).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert [call.status for call in run.attempts("login")] == [1, 0]
    assert run.sleeps == BACKOFF[:1]
    assert "Build failed with status: EXPIRED" in run.stderr


def test_index_and_ttl_contention_is_retried(make_cloud: MakeCloud) -> None:
    """Firestore's 409 ABORTED "cross-transaction contention" on index and TTL changes is waited out."""
    failures = [
        transient("firestore indexes composite create", "contention", 2),
        transient("firestore fields ttls update", "contention", 1),
    ]
    run = make_cloud(empty_project() | {"transient": failures}).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert len(run.state["indexes"]) == len(INDEXES)
    assert len(run.state["ttls"]) == 2
    assert sorted(run.sleeps) == sorted([*BACKOFF[:2], BACKOFF[0]])


# --------------------------------------------------------------------------
# Billing, organisation policies, gcloud's version


def test_billing_off_stops_before_the_first_change_saying_what_to_do(make_cloud: MakeCloud) -> None:
    """Without a billing account the run stops at once (not with services enable's raw FAILED_PRECONDITION)."""
    run = make_cloud(empty_project() | {"billing": {}}).run(*STANDARD_ARGS)
    assert run.returncode == 1
    assert run.changes == []
    assert "billing is not enabled" in run.stderr
    assert "gcloud billing projects link" in run.stderr
    assert any(call.is_("billing", "projects", "describe", PROJECT) for call in run.calls)


POLICIES = {
    "iam.managed.allowedPolicyMembers": {
        "spec": {"rules": [{"enforce": True, "parameters": {"allowedMemberSubjects": ["user:a@example.com"]}}]}
    },
    "cloudfunctions.allowedIngressSettings": {"spec": {"rules": [{"values": {"allowedValues": ["ALLOW_ALL"]}}]}},
    "run.allowedIngress": {"spec": {"rules": [{"values": {"allowedValues": ["internal"]}}]}},
    "gcp.resourceLocations": {"spec": {"rules": [{"values": {"allowedValues": ["in:eu-locations"]}}]}},
}


def test_each_blocking_organisation_policy_is_named_before_anything_changes(make_cloud: MakeCloud) -> None:
    """Every relevant effective policy is read once; each that forbids the deployment gets its line of advice."""
    run = make_cloud(empty_project() | {"org_policies": POLICIES}).run(*STANDARD_ARGS)
    assert run.returncode == 1
    assert run.changes == []
    described = [call.argv[2] for call in run.calls if call.is_("org-policies", "describe")]
    assert sorted(described) == sorted({*POLICIES, "iam.allowedPolicyMemberDomains"})
    for constraint in POLICIES:
        assert f"constraints/{constraint}" in run.stderr
    assert "iam.allowedPolicyMemberDomains:" not in run.stderr


def test_an_outdated_gcloud_is_refused_saying_so(make_cloud: MakeCloud) -> None:
    """A gcloud older than the minimum stops the run before anything else, naming both versions."""
    run = make_cloud(empty_project() | {"gcloud_version": "450.0.0"}).run(*STANDARD_ARGS)
    assert run.returncode == 1
    assert "gcloud 450.0.0 is older than 528.0.0" in run.stderr
    assert "gcloud components update" in run.stderr
    assert run.changes == []


# --------------------------------------------------------------------------
# The key's version, backups


def test_a_disabled_newest_key_version_is_not_pinned(make_cloud: MakeCloud, deployed_project: dict[str, Any]) -> None:
    """A newer version disabled by hand is skipped: every function is pinned to the newest ENABLED one."""
    state = copy.deepcopy(deployed_project)
    versions = state["secrets"][SECRET]["versions"]
    versions.append({**versions[0], "state": "DISABLED", "sha256": "0" * 64})
    run = make_cloud(state).run(*STANDARD_ARGS)
    assert run.returncode == 0, run.stderr
    pinned = {parse_dict_flag(call.flag("set-secrets") or "=").get("JWT_SECRET_KEY") for call in run.deploys().values()}
    assert pinned - {None} == {f"{SECRET}:1"}


def test_daily_backups_are_scheduled_once_kept_a_week(first_run: DeployRun) -> None:
    """The first run creates one daily backup schedule with 7 days' retention."""
    (create,) = [call for call in first_run.calls if call.is_("firestore", "backups", "schedules", "create")]
    assert create.flag("recurrence") == "daily"
    assert create.flag("retention") == "7d"
    (schedule,) = first_run.state["databases"]["(default)"]["backup_schedules"]
    assert schedule["retention"] == "604800s"


def test_backups_can_be_left_out(make_cloud: MakeCloud) -> None:
    """--no-backups: no schedule."""
    run = make_cloud().run(*STANDARD_ARGS, "--no-backups")
    assert_fully_deployed(run)
    assert not any(call.is_("firestore", "backups", "schedules", "create") for call in run.calls)


def test_verify_reports_the_newest_backups_age(make_cloud: MakeCloud, deployed_project: dict[str, Any]) -> None:
    """--verify names the age of the newest backup of the database's location."""
    from datetime import UTC, datetime, timedelta

    taken = (datetime.now(UTC) - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    name = f"projects/{PROJECT}/locations/{REGION}/backups/b1"
    run = make_cloud(deployed_project | {"backups": [{"name": name, "snapshotTime": taken}]}).run(
        "--project", PROJECT, "--verify"
    )
    assert run.returncode == 0, run.stderr
    assert "newest backup 5 h old" in run.stderr
