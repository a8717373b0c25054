"""A first run on a fresh project survives Google's documented first-run failures, or stops saying what to do.

Each test makes the fake gcloud fail the way Google does (fake_gcloud.MESSAGES,
with the source of each text) and checks that deploy.sh retries exactly that,
with a bounded back-off, or stops naming the cause and the fix; and that running
it again finishes the job.
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.conftest import (
    HTTP_FUNCTIONS,
    PROJECT,
    REGION,
    RETRY_FUNCTION,
    STANDARD_ARGS,
    DeployRun,
    FakeCloud,
    empty_project,
)

MakeCloud = Callable[..., FakeCloud]
ALL_FUNCTIONS = {*HTTP_FUNCTIONS, RETRY_FUNCTION}
BUILD_ACCOUNT = f"tweet-capture-build@{PROJECT}.iam.gserviceaccount.com"
EVENTARC_AGENT = "serviceAccount:service-123456789012@gcp-sa-eventarc.iam.gserviceaccount.com"
# deploy.sh's back-off: the delays before each retry on a propagation error.
BACKOFF = [10.0, 20.0, 30.0, 60.0, 60.0, 60.0]


def transient(command: str, error: str, times: int, target: str | None = None, **extra: str) -> dict[str, Any]:
    """A `transient` knob for the fake: the first `times` matching calls fail with MESSAGES[error]."""
    return {"command": command, "target": target, "times": times, "error": error, **extra}


def assert_fully_deployed(run: DeployRun) -> None:
    """The run succeeded, every function is deployed and public where it should be, and the check passed."""
    assert run.returncode == 0, run.stderr
    assert {key.split("/", 1)[1] for key in run.state["functions"]} == ALL_FUNCTIONS
    public = {key for key, bindings in run.state["policies"].items() if ["roles/run.invoker", "allUsers"] in bindings}
    assert public == {f"run/{REGION}/{name}" for name in HTTP_FUNCTIONS}
    assert "verify: OK" in run.stderr


# --------------------------------------------------------------------------
# 1. Builds as the Compute Engine default account


def test_builds_run_as_their_own_account_holding_what_a_build_needs(make_cloud: MakeCloud) -> None:
    """On a project where the default account cannot build, every deploy builds as tweet-capture-build, which works.

    It holds exactly logging.logWriter and storage.objectViewer on the project and artifactregistry.writer on
    gcf-artifacts (https://cloud.google.com/functions/docs/securing/build-custom-sa).
    """
    run = make_cloud(empty_project() | {"compute_sa_can_build": False}).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    for call in run.deploys().values():
        assert call.flag("build-service-account") == f"projects/{PROJECT}/serviceAccounts/{BUILD_ACCOUNT}"
    granted = {
        (resource, role)
        for resource, bindings in run.state["policies"].items()
        for role, member in bindings
        if member == f"serviceAccount:{BUILD_ACCOUNT}"
    }
    assert granted == {
        (f"project/{PROJECT}", "roles/logging.logWriter"),
        (f"project/{PROJECT}", "roles/storage.objectViewer"),
        (f"repository/{REGION}/gcf-artifacts", "roles/artifactregistry.writer"),
    }


def test_the_fake_fails_a_build_as_the_default_account_with_googles_message(make_cloud: MakeCloud) -> None:
    """The fake is faithful: a deploy without --build-service-account fails with Cloud Build's own explanation."""
    cloud = make_cloud(empty_project() | {"compute_sa_can_build": False})
    completed = subprocess.run(
        [
            str(cloud.bin / "gcloud"),
            "functions",
            "deploy",
            "health",
            "--gen2",
            "--runtime=python313",
            f"--region={REGION}",
            "--source=.",
            "--entry-point=health",
            "--trigger-http",
            f"--project={PROJECT}",
        ],
        env=cloud.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert "missing permission on the build service account" in completed.stderr


# --------------------------------------------------------------------------
# 2. Parallel first deploys: the image repository and gcloud's local state


def test_gclouds_database_is_locked_crash_is_retried_once(make_cloud: MakeCloud) -> None:
    """A deploy that crashes with "database is locked" is run once more, at once, and the run succeeds."""
    state = empty_project() | {"transient": [transient("functions deploy", "database_locked", 1, "login")]}
    run = make_cloud(state).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert [call.status for call in run.attempts("login")] == [1, 0]
    assert run.sleeps == []
    assert "local state was busy; retrying once" in run.stderr


def test_a_second_database_is_locked_crash_fails_the_deploy(make_cloud: MakeCloud) -> None:
    """Only one retry for a crash of gcloud itself: a second one fails that deploy and the run, with its output."""
    state = empty_project() | {"transient": [transient("functions deploy", "database_locked", 2, "login")]}
    run = make_cloud(state).run(*STANDARD_ARGS)
    assert run.returncode == 1
    assert len(run.attempts("login")) == 2
    assert "database is locked" in run.stderr
    assert "deployment failed for: login" in run.stderr


# --------------------------------------------------------------------------
# 3. The Eventarc service agent


def test_the_eventarc_agent_is_created_before_the_first_pubsub_triggered_deploy(make_cloud: MakeCloud) -> None:
    """A fresh project's Eventarc service identity is created explicitly, before retry-queue is deployed."""
    run = make_cloud().run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    (create,) = [call for call in run.calls if call.is_("beta", "services", "identity", "create")]
    assert create.flag("service") == "eventarc.googleapis.com"
    assert create.end <= run.deploys()[RETRY_FUNCTION].start
    assert ["roles/eventarc.serviceAgent", EVENTARC_AGENT] in run.state["policies"][f"project/{PROJECT}"]


def test_an_eventarc_agent_still_propagating_is_waited_for(make_cloud: MakeCloud) -> None:
    """Eventarc's "Permission denied while using the Eventarc Service Agent" is retried after 10 s, then 20 s."""
    state = empty_project() | {"transient": [transient("functions deploy", "eventarc_agent", 2, RETRY_FUNCTION)]}
    run = make_cloud(state).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert [call.status for call in run.attempts(RETRY_FUNCTION)] == [1, 1, 0]
    assert run.sleeps == BACKOFF[:2]
    assert "Permission denied while using the Eventarc Service Agent" in run.stderr


def test_an_eventarc_agent_that_never_gets_ready_ends_in_a_clear_failure(make_cloud: MakeCloud) -> None:
    """The back-off is bounded (4 minutes in all): then the run fails with Google's message and says to re-run."""
    state = empty_project() | {"transient": [transient("functions deploy", "eventarc_agent", 99, RETRY_FUNCTION)]}
    run = make_cloud(state).run(*STANDARD_ARGS)
    assert run.returncode == 1
    assert len(run.attempts(RETRY_FUNCTION)) == len(BACKOFF) + 1
    assert run.sleeps == BACKOFF
    assert sum(run.sleeps) <= 240
    assert "verify that it has Eventarc Service Agent role" in run.stderr
    assert f"deployment failed for: {RETRY_FUNCTION}" in run.stderr
    assert "run ./deploy.sh again" in run.stderr


# --------------------------------------------------------------------------
# 4. APIs enabled a moment ago


def test_the_first_calls_to_a_just_enabled_api_are_retried(make_cloud: MakeCloud) -> None:
    """Firestore's "has not been used in project … before or it is disabled" on the first calls is waited out."""
    state = empty_project() | {"transient": [transient("firestore databases describe", "api_disabled", 2)]}
    run = make_cloud(state).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    describes = [call for call in run.calls if call.is_("firestore", "databases", "describe")]
    describes = [call for call in describes if call.flag("format") == "value(type)"]
    assert [call.status for call in describes] == [1, 1, 1]  # the last: NOT_FOUND, a fresh project
    assert run.sleeps == BACKOFF[:2]
    assert run.state["databases"]["(default)"]["type"] == "FIRESTORE_NATIVE"


def test_a_just_enabled_api_fails_a_change_too_and_is_retried(make_cloud: MakeCloud) -> None:
    """The same message on a change (creating the topic, Pub/Sub just enabled) is retried, not taken as a failure."""
    failing = transient("pubsub topics create", "api_disabled", 1, "tweet-likes-raw", api="pubsub.googleapis.com")
    run = make_cloud(empty_project() | {"transient": [failing]}).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert run.sleeps == BACKOFF[:1]
    assert "Cloud Pub/Sub API has not been used in project" in run.stderr


# --------------------------------------------------------------------------
# 5. The functions' account not yet able to read the secret


def test_a_secret_grant_still_propagating_is_waited_for(make_cloud: MakeCloud) -> None:
    """Cloud Run's "Permission denied on secret … for Revision service account" is retried with the back-off."""
    state = empty_project() | {"transient": [transient("functions deploy", "secret_access", 3, "capture")]}
    run = make_cloud(state).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert [call.status for call in run.attempts("capture")] == [1, 1, 1, 0]
    assert run.sleeps == BACKOFF[:3]


def test_an_ordinary_build_failure_is_not_retried(make_cloud: MakeCloud) -> None:
    """A failure without one of those messages (a broken build) fails at once: no retry, no wait."""
    run = make_cloud(empty_project() | {"fail_deploy": ["lookup"]}).run(*STANDARD_ARGS)
    assert run.returncode == 1
    assert len(run.attempts("lookup")) == 1
    assert run.sleeps == []


# --------------------------------------------------------------------------
# 6. Domain-restricted sharing

# Org Policy v2's effective form (`gcloud org-policies describe --effective`).
RESTRICTED = {"iam.allowedPolicyMemberDomains": {"spec": {"rules": [{"values": {"allowedValues": ["C03abcdef"]}}]}}}


def test_domain_restricted_sharing_stops_the_run_before_anything_is_deployed(make_cloud: MakeCloud) -> None:
    """An effective iam.allowedPolicyMemberDomains without allUsers stops the run, naming it and the way out."""
    run = make_cloud(empty_project() | {"org_policies": RESTRICTED}).run(*STANDARD_ARGS)
    assert run.returncode == 1
    describes = [call for call in run.calls if call.is_("org-policies", "describe")]
    assert all(call.has("effective") for call in describes)
    assert "iam.allowedPolicyMemberDomains" in [call.argv[2] for call in describes]
    assert "constraints/iam.allowedPolicyMemberDomains" in run.stderr
    assert "C03abcdef" in run.stderr
    assert "org-policies set-policy" in run.stderr
    assert "Nothing was deployed" in run.stderr
    assert run.deploys() == {}
    # Asked before the first change: nothing half-made.
    assert run.changes == []


def test_after_the_policy_is_lifted_a_rerun_deploys_everything(make_cloud: MakeCloud) -> None:
    """Once the organisation allows all members for the project, the same command finishes the job."""
    cloud = make_cloud(empty_project() | {"org_policies": RESTRICTED})
    assert cloud.run(*STANDARD_ARGS).returncode == 1
    state = cloud.state
    state["org_policies"] = {"iam.allowedPolicyMemberDomains": {"spec": {"rules": [{"allowAll": True}]}}}
    cloud.state = state
    assert_fully_deployed(cloud.run(*STANDARD_ARGS))


def test_an_unreadable_org_policy_is_a_note_not_a_failure(make_cloud: MakeCloud) -> None:
    """A deployer who may not read organisation policies gets a note, and the deploy goes on."""
    run = make_cloud(empty_project() | {"deny": ["org-policies describe"]}).run(*STANDARD_ARGS)
    assert_fully_deployed(run)
    assert "could not read the organisation policy iam.allowedPolicyMemberDomains" in run.stderr


def test_the_fake_leaves_a_private_function_under_the_policy(make_cloud: MakeCloud) -> None:
    """Why the check comes first: under the policy a public deploy fails with Google's text and stays private."""
    unseen = {"deny": ["org-policies describe"], "org_policies": RESTRICTED}
    result = make_cloud(empty_project() | unseen).run(*STANDARD_ARGS)
    assert result.returncode == 1
    assert "do not belong to a permitted customer" in result.stderr
    assert "constraints/iam.allowedPolicyMemberDomains forbids public functions" in result.stderr
    assert f"{REGION}/health" in result.state["functions"]
    assert ["roles/run.invoker", "allUsers"] not in result.state["policies"][f"run/{REGION}/health"]


# --------------------------------------------------------------------------
# 7. Re-running after a failure


@pytest.mark.parametrize(
    "failure",
    [
        transient("functions deploy", "eventarc_agent", 99, RETRY_FUNCTION),
        transient("functions deploy", "secret_access", 99, "capture"),
        transient("artifacts repositories create", "api_disabled", 99, api="artifactregistry.googleapis.com"),
    ],
    ids=["eventarc-agent", "secret-access", "artifact-registry-api"],
)
def test_a_rerun_finishes_what_a_failed_run_left(make_cloud: MakeCloud, failure: dict[str, Any]) -> None:
    """After a run that failed half-way, the same command completes the deployment: same end state as a clean run."""
    cloud = make_cloud(empty_project() | {"transient": [failure]})
    failed = cloud.run(*STANDARD_ARGS)
    assert failed.returncode == 1
    state = cloud.state
    state["transient"] = []
    cloud.state = state
    rerun = cloud.run(*STANDARD_ARGS)
    assert_fully_deployed(rerun)
    clean = make_cloud().run(*STANDARD_ARGS)
    assert_fully_deployed(clean)

    def comparable(run: DeployRun) -> dict[str, Any]:
        state = copy.deepcopy(run.state)
        for volatile in ("transient", "function_base_url", "secrets", "spent_codes", "functions", "rules"):
            state.pop(volatile, None)
        state["indexes"] = sorted(index["name"].split("/indexes/")[0] for index in state["indexes"])
        return state

    assert comparable(rerun) == comparable(clean)
    assert rerun.state["functions"].keys() == clean.state["functions"].keys()
