"""deploy.sh run offline against the recording fake gcloud: what it creates, deploys and prints."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.web.endpoints import BY_PATH, NEEDS_JWT
from shared.web.endpoints import HTTP_FUNCTIONS as DECLARED_HTTP
from tests.deploy.conftest import (
    ACCESS_TOKEN,
    EXTENSION_ID,
    HTTP_FUNCTIONS,
    MAX_PARALLEL,
    OWNER,
    PROJECT,
    REGION,
    RETRY_FUNCTION,
    SCRIPT,
    STANDARD_ARGS,
    Call,
    DeployRun,
    FakeCloud,
    empty_project,
    printed_commands,
)
from tests.deploy.fake_gcloud import parse_dict_flag

TOPIC = "tweet-likes-raw"
TICK_TOPIC = "tweet-capture-retry-tick"
SECRET = "tweet-capture-jwt-key"
REGISTRATION_SECRET = "registration-code"
SERVICE_ACCOUNT = f"tweet-capture-fn@{PROJECT}.iam.gserviceaccount.com"
# health and retry-queue run as an account that cannot read the signing key.
PLAIN_ACCOUNT = f"tweet-capture-ops@{PROJECT}.iam.gserviceaccount.com"
BUILD_ACCOUNT = f"tweet-capture-build@{PROJECT}.iam.gserviceaccount.com"
DOCKER_REPOSITORY = f"projects/{PROJECT}/locations/{REGION}/repositories/gcf-artifacts"
GCF_REPOSITORY = "gcf-artifacts"
SET_CLEANUP = ("artifacts", "repositories", "set-cleanup-policies")
# The cleanup policy as Artifact Registry keeps it: the 2 most recent versions of each image stay, the rest go.
CLEANUP_POLICIES = {
    "keep-2-most-recent": {"id": "keep-2-most-recent", "action": "KEEP", "mostRecentVersions": {"keepCount": 2}},
    "delete-older-versions": {"id": "delete-older-versions", "action": "DELETE", "condition": {"tagState": "ANY"}},
}

MakeCloud = Callable[..., FakeCloud]


def entry_point(name: str) -> str:
    """The entry point of a deployed function: its name with underscores."""
    return name.replace("-", "_")


def url_key(name: str) -> str:
    """The extension configuration's key for a function: capture-batch -> captureBatchUrl."""
    head, *rest = name.split("-")
    return head + "".join(word.title() for word in rest) + "Url"


def function_state(run: DeployRun, name: str) -> dict[str, Any]:
    """What the fake recorded for a deployed function."""
    return run.state["functions"][f"{REGION}/{name}"]


def gcf_repository(state: dict[str, Any]) -> dict[str, Any]:
    """The gcf-artifacts repository of the region, as the fake keeps it."""
    return state["repositories"][f"{REGION}/{GCF_REPOSITORY}"]


def without_work_dir(command: tuple[str, ...]) -> tuple[str, ...]:
    """A command with the run's own temporary directory left out of --policy=DIR/FILE."""
    return tuple("--policy=" + word.rsplit("/", 1)[-1] if word.startswith("--policy=") else word for word in command)


# --------------------------------------------------------------------------
# The script itself and its settings


def test_shellcheck_reports_nothing() -> None:
    """deploy.sh passes shellcheck without a single finding."""
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (e.g. apt-get install shellcheck)")
    result = subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_help_exits_zero_without_calling_gcloud(make_cloud: MakeCloud) -> None:
    """--help prints the usage with every flag and exits 0 without any gcloud call."""
    run = make_cloud().run("--help")
    assert run.returncode == 0
    for flag in (
        "--project",
        "--region",
        "--owner-email",
        "--extension-id",
        "--only",
        "--single-url",
        "--alerts",
        "--budget-usd",
        "--verify",
        "--base-url",
        "--health-url",
        "--capture-url",
        "--dry-run",
        "--parallel",
        "--no-backups",
        "--no-owner-account",
        "--force-rules",
    ):
        assert flag in run.stdout
    assert run.calls == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--project", PROJECT), "no owner e-mail"),
        (("--owner-email", OWNER), "no project"),
        (("--project", PROJECT, "--owner-email", "not-an-address"), "is not an e-mail address"),
        ((*STANDARD_ARGS, "--extension-id", "NOT-AN-ID"), "is not a Chrome extension id"),
        (("--project", "Bad_Project", "--owner-email", OWNER), "is not a project ID"),
        ((*STANDARD_ARGS, "--region", "mars"), "is not a region"),
        ((*STANDARD_ARGS, "--only", "everything"), "unknown function"),
        ((*STANDARD_ARGS, "--frobnicate"), "unknown argument"),
        ((*STANDARD_ARGS, "--region"), "--region needs a value"),
        ((*STANDARD_ARGS, "--region="), "--region needs a value"),
    ],
)
def test_missing_or_bad_settings_are_usage_errors(make_cloud: MakeCloud, args: tuple[str, ...], message: str) -> None:
    """A missing or malformed setting exits 2 with the reason and the usage; gcloud is asked only for its config."""
    run = make_cloud().run(*args)
    assert run.returncode == 2
    assert message in run.stderr
    assert "Usage: ./deploy.sh" in run.stderr
    assert all(call.is_("config", "get-value", "project") for call in run.calls)


def test_project_falls_back_to_the_gcloud_configuration(make_cloud: MakeCloud) -> None:
    """Without --project or GCP_PROJECT_ID the project is read from `gcloud config get-value project`."""
    cloud = make_cloud(empty_project() | {"config_project": PROJECT})
    run = cloud.run("--owner-email", OWNER, "--dry-run")
    assert run.returncode == 0, run.stderr
    commands = printed_commands(run.stdout)
    assert commands
    assert all(f"--project={PROJECT}" in command for command in commands)


def test_settings_can_come_from_the_environment(make_cloud: MakeCloud) -> None:
    """GCP_PROJECT_ID, REGION, OWNER_EMAIL and EXTENSION_ID act like their flags."""
    cloud = make_cloud()
    env = cloud.env(GCP_PROJECT_ID=PROJECT, REGION="europe-west1", OWNER_EMAIL=OWNER, EXTENSION_ID=EXTENSION_ID)
    run = cloud.run("--dry-run", "--only", "capture", env=env)
    assert run.returncode == 0, run.stderr
    (deploy,) = [command for command in printed_commands(run.stdout) if command[:2] == ("functions", "deploy")]
    assert "--region=europe-west1" in deploy
    assert f"--project={PROJECT}" in deploy
    env_vars = parse_dict_flag(next(word for word in deploy if word.startswith("--set-env-vars="))[15:])
    assert env_vars["ALLOWED_EMAILS"] == OWNER
    assert env_vars["ALLOWED_ORIGINS"] == f"chrome-extension://{EXTENSION_ID}"


def test_without_extension_id_the_default_origins_apply(make_cloud: MakeCloud) -> None:
    """Without --extension-id no ALLOWED_ORIGINS is set, so the service's default applies, and a note says so."""
    run = make_cloud().run("--project", PROJECT, "--owner-email", OWNER, "--dry-run")
    assert run.returncode == 0, run.stderr
    for command in printed_commands(run.stdout):
        for word in command:
            if word.startswith("--set-env-vars="):
                assert "ALLOWED_ORIGINS" not in parse_dict_flag(word[15:])
    assert "no --extension-id" in run.stderr


def test_a_missing_login_stops_the_script_before_any_change(make_cloud: MakeCloud) -> None:
    """Without an active gcloud account the script says to log in and changes nothing."""
    run = make_cloud(empty_project() | {"account": ""}).run(*STANDARD_ARGS)
    assert run.returncode == 1
    assert "gcloud auth login" in run.stderr
    assert run.changes == []


def test_an_unknown_project_stops_the_script_before_any_change(make_cloud: MakeCloud) -> None:
    """A project that does not exist (or is not visible) is reported before anything is changed."""
    run = make_cloud().run("--project", "no-such-project", "--owner-email", OWNER)
    assert run.returncode == 1
    assert "project 'no-such-project' does not exist" in run.stderr
    assert run.changes == []


# --------------------------------------------------------------------------
# A first deployment to a fresh project


def test_every_function_is_deployed_once_with_gen2_and_its_trigger(first_run: DeployRun) -> None:
    """Each HTTP function and retry-queue is deployed exactly once, 2nd gen, with its own trigger."""
    deploys = first_run.deploys()
    assert set(deploys) == {*HTTP_FUNCTIONS, RETRY_FUNCTION}
    for name in HTTP_FUNCTIONS:
        call = deploys[name]
        assert call.has("gen2")
        assert call.flag("entry-point") == entry_point(name)
        assert call.has("trigger-http")
        assert call.has("allow-unauthenticated")
        assert call.flag("trigger-topic") is None
    retry = deploys[RETRY_FUNCTION]
    assert retry.has("gen2")
    assert retry.flag("entry-point") == "retry_queue"
    assert retry.flag("trigger-topic") == TICK_TOPIC
    assert retry.flag("trigger-service-account") == PLAIN_ACCOUNT
    # Only Eventarc's push reaches it, which Cloud Run counts as internal traffic.
    assert retry.flag("ingress-settings") == "internal-only"
    assert not retry.has("trigger-http")
    assert not retry.has("allow-unauthenticated")
    # Said explicitly: gcloud would otherwise keep a retry policy someone set by hand.
    assert retry.has("no-retry")
    assert not retry.has("retry")


def test_the_deployed_functions_are_the_declared_ones(first_run: DeployRun) -> None:
    """Per-function mode deploys every HTTP entry point of shared/web/endpoints.py but the router, plus retry-queue.

    And exactly the functions whose endpoint declares needs_jwt get JWT_SECRET_KEY: one source of truth.
    """
    deploys = first_run.deploys()
    assert {entry_point(name) for name in deploys} == (set(DECLARED_HTTP) - {"api"}) | {"retry_queue"}
    with_key = {entry_point(name) for name, call in deploys.items() if call.flag("set-secrets")}
    assert with_key == NEEDS_JWT - {"api"}


def test_the_router_gets_the_key_as_declared(make_cloud: MakeCloud) -> None:
    """--single-url deploys api with JWT_SECRET_KEY exactly when shared/web/endpoints.py says it needs it."""
    run = make_cloud().run(*STANDARD_ARGS, "--single-url", "--dry-run")
    assert run.returncode == 0, run.stderr
    (deploy,) = [c for c in printed_commands(run.stdout) if c[:3] == ("functions", "deploy", "api")]
    assert any(word.startswith("--set-secrets=JWT_SECRET_KEY=") for word in deploy) == ("api" in NEEDS_JWT)


def test_entry_points_exist_in_main_with_the_matching_signature_type(first_run: DeployRun) -> None:
    """Every --entry-point is exported by main.py and registered as http or cloudevent to match its trigger."""
    import importlib.util

    from functions_framework import _function_registry

    import main

    not_here = []
    for call in first_run.deploys().values():
        name = call.flag("entry-point") or ""
        assert name in main.__all__
        if importlib.util.find_spec(f"functions.{name}") is None:
            not_here.append(name)  # declared, its module arriving from another branch
            continue
        assert callable(getattr(main, name))  # imports its module, which registers it
        expected = "http" if call.has("trigger-http") else "cloudevent"
        assert _function_registry.REGISTRY_MAP.get(name) == expected, name
    if not_here:
        pytest.skip(f"declared in shared/web/endpoints.py, no module in this tree yet: {', '.join(sorted(not_here))}")


def test_the_first_deploy_runs_alone_then_the_rest_in_parallel(first_run: DeployRun) -> None:
    """The health function is deployed alone and done before any other starts; then the others, 3 at a time.

    A new project's Cloud Build pool runs only a few builds at once; builds queued behind it expire.
    """
    deploys = first_run.deploys()
    first = deploys.pop("health")
    assert all(first.end <= call.start for call in deploys.values())
    assert max(in_flight(list(deploys.values()), call.start) for call in deploys.values()) == MAX_PARALLEL
    # The first three saw each other start (the fake's barrier): they really ran side by side.
    assert sum(call.peers == MAX_PARALLEL + 1 for call in deploys.values()) >= MAX_PARALLEL


def in_flight(calls: list[Call], moment: float) -> int:
    """How many of the calls were running at that moment."""
    return sum(call.start <= moment < call.end for call in calls)


def test_parallel_deploys_each_use_a_private_gcloud_configuration(first_run: DeployRun, first_cloud: FakeCloud) -> None:
    """Each parallel gcloud gets its own copy of the configuration directory, in the run's temporary directory.

    Sharing one makes gcloud crash with "database is locked" (the fake does just that); the copies, which
    hold credentials, are gone after the run; the first deploy, alone, uses the user's own directory.
    """
    deploys = first_run.deploys()
    assert deploys.pop("health").config == str(first_cloud.gcloud_config)
    configs = [Path(call.config or "") for call in deploys.values()]
    assert len(set(configs)) == len(configs)
    for config in configs:
        assert config.is_relative_to(first_cloud.directory)
        assert config.name.startswith("gcloud-config-")
        assert not config.exists()
        assert not config.parent.exists()


def test_deploys_upload_the_repository_root(first_run: DeployRun) -> None:
    """Deploys run in the repository root with --source=., whatever directory the script was started from."""
    for call in first_run.deploys().values():
        assert call.flag("source") == "."
        assert call.cwd == str(SCRIPT.parent)


def test_functions_are_sized_for_a_free_single_user_budget(first_run: DeployRun) -> None:
    """Every function runs python313 as the service account, scales to zero and caps instances at 5 or fewer."""
    for name, call in first_run.deploys().items():
        assert call.flag("runtime") == "python313"
        assert call.flag("region") == REGION
        keyed = entry_point(name) in NEEDS_JWT
        assert call.flag("service-account") == (SERVICE_ACCOUNT if keyed else PLAIN_ACCOUNT), name
        assert call.flag("min-instances") == "0"
        assert 1 <= int(call.flag("max-instances") or "0") <= 5
        assert call.flag("memory") in {"256Mi", "512Mi"}, name
        assert call.flag("timeout")


def test_functions_get_their_settings_as_environment_variables(first_run: DeployRun) -> None:
    """HTTP functions get project, topic, owner and extension origin; retry-queue only project and topic."""
    from shared.config import load_settings

    expected = {
        "GCP_PROJECT_ID": PROJECT,
        "PUBSUB_TOPIC": TOPIC,
        "ALLOWED_EMAILS": OWNER,
        "ALLOWED_ORIGINS": f"chrome-extension://{EXTENSION_ID}",
    }
    for name in HTTP_FUNCTIONS:
        env = function_state(first_run, name)["env"]
        assert env == expected, name
        settings = load_settings(env)
        assert settings.allowed_origins == (f"chrome-extension://{EXTENSION_ID}",)
        assert settings.allowed_emails == frozenset({OWNER})
    assert function_state(first_run, RETRY_FUNCTION)["env"] == {"GCP_PROJECT_ID": PROJECT, "PUBSUB_TOPIC": TOPIC}


def test_jwt_key_reaches_the_token_functions_only_through_secret_manager(first_run: DeployRun) -> None:
    """--set-secrets gives JWT_SECRET_KEY to the token functions; health and retry-queue get no secret at all."""
    for name, call in first_run.deploys().items():
        assert "JWT_SECRET_KEY" not in function_state(first_run, name)["env"]
        if entry_point(name) in NEEDS_JWT:
            # Pinned to the version's number: a rotation reaches every function on the next deploy, together.
            assert parse_dict_flag(call.flag("set-secrets") or "")["JWT_SECRET_KEY"] == f"{SECRET}:1"
        else:
            assert call.flag("set-secrets") is None, name


def test_jwt_key_is_strong_random_and_never_shown(first_run: DeployRun) -> None:
    """The key is created once through stdin, is at least 32 bytes, and appears in no argument or output."""
    (version,) = first_run.state["secrets"][SECRET]["versions"]
    key = version["data"]
    assert len(key.encode()) >= 32
    assert len(set(key)) > 16
    (create,) = [call for call in first_run.calls if call.is_("secrets", "create", SECRET)]
    assert create.flag("data-file") == "-"
    assert create.stdin_sha256 == version["sha256"]
    for call in first_run.calls:
        assert all(key not in word for word in call.argv)
    for output in (first_run.stdout, first_run.stderr):
        assert key not in output
        assert ACCESS_TOKEN not in output


def test_firestore_is_created_in_native_mode(first_run: DeployRun) -> None:
    """The database is created with --type=firestore-native; Datastore mode appears nowhere."""
    (create,) = [call for call in first_run.calls if call.is_("firestore", "databases", "create")]
    assert create.flag("type") == "firestore-native"
    assert create.flag("database") == "(default)"
    assert not any("datastore-mode" in word for call in first_run.calls for word in call.argv)
    assert first_run.state["databases"]["(default)"]["type"] == "FIRESTORE_NATIVE"


def test_ttl_policies_and_the_composite_indexes_are_added(first_run: DeployRun) -> None:
    """TTLs on sessions.expiresAt and rateLimits.expireAt; composite indexes: replay, queue view, listing."""
    assert first_run.state["ttls"] == {"sessions/expiresAt": "CREATING", "rateLimits/expireAt": "CREATING"}
    indexes = sorted(
        (
            index["name"].split("/collectionGroups/")[1].split("/")[0],
            [field["fieldPath"] for field in index["fields"]],
            {field["order"] for field in index["fields"]},
        )
        for index in first_run.state["indexes"]
        if index["queryScope"] == "COLLECTION"
    )
    assert indexes == [
        ("queue", ["status", "nextAttemptAt", "__name__"], {"ASCENDING"}),
        ("queue", ["userId", "createdAt", "__name__"], {"ASCENDING"}),
        ("queue", ["userId", "status", "createdAt", "__name__"], {"ASCENDING"}),
        ("tweets", ["userId", "createdAt", "captureOrder", "__name__"], {"ASCENDING"}),
    ]
    assert len(first_run.state["indexes"]) == 4


def test_topics_and_the_ten_minute_tick(first_run: DeployRun) -> None:
    """The capture topic keeps messages 31 days; Cloud Scheduler publishes to the tick topic every 10 minutes."""
    topics = first_run.state["topics"]
    assert topics[TOPIC]["messageRetentionDuration"] == "2678400s"
    assert TICK_TOPIC in topics
    (job,) = first_run.state["jobs"].values()
    assert job["schedule"] == "*/10 * * * *"
    assert job["pubsubTarget"]["topicName"] == f"projects/{PROJECT}/topics/{TICK_TOPIC}"
    assert job["name"].startswith(f"projects/{PROJECT}/locations/{REGION}/jobs/")


def test_the_needed_apis_are_enabled(first_run: DeployRun) -> None:
    """Every API the deployment relies on is enabled, in one call."""
    needed = {
        f"{api}.googleapis.com"
        for api in (
            "cloudfunctions",
            "run",
            "cloudbuild",
            "artifactregistry",
            "firestore",
            "pubsub",
            "cloudscheduler",
            "secretmanager",
            "eventarc",
            "firebaserules",
        )
    }
    assert needed <= set(first_run.state["services"])
    assert len([call for call in first_run.calls if call.is_("services", "enable")]) == 1


def test_the_service_accounts_hold_only_the_roles_they_need(first_run: DeployRun) -> None:
    """Both runtime accounts get Firestore and publish+view on the topic; only the keyed one reads the secrets.

    The account without the key (health, retry-queue) is the one Eventarc invokes retry-queue as.
    """

    def granted(account: str) -> set[tuple[str, str]]:
        return {
            (resource, role)
            for resource, bindings in first_run.state["policies"].items()
            for role, holder in bindings
            if holder == f"serviceAccount:{account}"
        }

    common = {
        (f"project/{PROJECT}", "roles/datastore.user"),
        (f"topic/{TOPIC}", "roles/pubsub.publisher"),
        (f"topic/{TOPIC}", "roles/pubsub.viewer"),
    }
    assert granted(SERVICE_ACCOUNT) == common | {
        (f"secret/{SECRET}", "roles/secretmanager.secretAccessor"),
        (f"secret/{REGISTRATION_SECRET}", "roles/secretmanager.secretAccessor"),
    }
    assert granted(PLAIN_ACCOUNT) == common | {(f"run/{REGION}/{RETRY_FUNCTION}", "roles/run.invoker")}
    public = {
        resource
        for resource, bindings in first_run.state["policies"].items()
        if ["roles/run.invoker", "allUsers"] in bindings
    }
    assert public == {f"run/{REGION}/{name}" for name in HTTP_FUNCTIONS}


def test_every_call_names_the_project(first_run: DeployRun) -> None:
    """Every call names the project, in CLOUDSDK_CORE_PROJECT and (but auth/config) --project.

    gcloud resolves some bare names while parsing from the configured project, before --project applies;
    the environment variable is what it reads then, so the active gcloud configuration never matters.
    """
    for call in first_run.calls:
        assert call.core_project == PROJECT, call.argv
        if call.is_("projects", "describe") or call.is_("billing", "projects", "describe"):
            assert PROJECT in call.argv
        elif not (call.is_("auth") or call.is_("config") or call.is_("info")):
            assert call.flag("project") == PROJECT, call.argv


def test_stdout_is_exactly_the_extension_configuration(first_run: DeployRun) -> None:
    """Stdout is one JSON object holding every HTTP function's URL as gcloud reports it; stderr lists them too."""
    config = json.loads(first_run.stdout)
    uris = {name: function_state(first_run, name)["serviceConfig"]["uri"] for name in HTTP_FUNCTIONS}
    assert config == {url_key(name): uri for name, uri in uris.items()}
    for name, uri in uris.items():
        assert f"{name}: {uri}" in first_run.stderr


# --------------------------------------------------------------------------
# Running again, partially, or without running


def test_a_second_run_only_redeploys(first_run: DeployRun, second_run: DeployRun) -> None:
    """On the project the first run set up, a second run creates, grants and enables nothing; it only redeploys."""
    assert {call.argv[:2] for call in second_run.changes} == {("functions", "deploy")}
    assert set(second_run.deploys()) == set(first_run.deploys())
    assert second_run.state == first_run.state
    assert json.loads(second_run.stdout) == json.loads(first_run.stdout)


def test_dry_run_prints_a_real_runs_commands_and_runs_none(make_cloud: MakeCloud, first_run: DeployRun) -> None:
    """--dry-run prints exactly the commands a first real run executes, calls no gcloud, and shows no key."""
    run = make_cloud().run(*STANDARD_ARGS, "--dry-run")
    assert run.returncode == 0, run.stderr
    assert run.calls == []
    printed = sorted(without_work_dir(command) for command in printed_commands(run.stdout))
    assert printed == sorted(without_work_dir(call.argv) for call in first_run.changes)
    assert "# stdin: a new random key, never shown" in run.stdout
    assert json.loads(run.stdout[run.stdout.index("{\n") :]).keys() == json.loads(first_run.stdout).keys()


@pytest.mark.parametrize(("only", "deployed"), [("capture", "capture"), ("retry_queue", RETRY_FUNCTION)])
def test_only_redeploys_a_single_function(
    make_cloud: MakeCloud, deployed_project: dict[str, Any], only: str, deployed: str
) -> None:
    """--only NAME redeploys that function alone, changes nothing else, leaves the configuration be, re-verifies."""
    run = make_cloud(deployed_project).run(*STANDARD_ARGS, "--only", only)
    assert run.returncode == 0, run.stderr
    assert list(run.deploys()) == [deployed]
    assert [call.argv[:3] for call in run.changes] == [("functions", "deploy", deployed)]
    assert run.stdout == ""
    if deployed in HTTP_FUNCTIONS:
        assert f"{deployed}: {function_state(run, deployed)['serviceConfig']['uri']}" in run.stderr
        assert "configuration is unchanged" in run.stderr
    # The whole deployment is checked again after any redeploy of an HTTP function.
    assert ("verify: OK" in run.stderr) == (deployed != RETRY_FUNCTION)


def test_single_url_deploys_the_router_and_retry_queue(make_cloud: MakeCloud) -> None:
    """--single-url deploys api (key and code) and retry-queue only; the JSON has the base URL and each /api path."""
    run = make_cloud().run(*STANDARD_ARGS, "--single-url")
    assert run.returncode == 0, run.stderr
    deploys = run.deploys()
    assert set(deploys) == {"api", RETRY_FUNCTION}
    assert deploys["api"].flag("entry-point") == "api"
    assert deploys["api"].has("trigger-http")
    assert parse_dict_flag(deploys["api"].flag("set-secrets") or "") == {
        "JWT_SECRET_KEY": f"{SECRET}:1",
        "REGISTRATION_CODE": f"{REGISTRATION_SECRET}:1",
    }
    base = function_state(run, "api")["serviceConfig"]["uri"]
    config = json.loads(run.stdout)
    assert config.pop("baseUrl") == base
    assert set(config) == {url_key(name) for name in HTTP_FUNCTIONS}
    for name in HTTP_FUNCTIONS:
        url = config[url_key(name)]
        assert url.startswith(base)
        assert BY_PATH[url.removeprefix(base)].entry_point == entry_point(name)


def test_a_failed_deploy_fails_the_run_and_shows_its_output(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """When one parallel deploy fails the others still finish, its gcloud output is shown and the run exits 1."""
    run = make_cloud(deployed_project | {"fail_deploy": ["capture"]}).run(*STANDARD_ARGS)
    assert run.returncode == 1
    deploys = run.deploys()
    assert set(deploys) == {*HTTP_FUNCTIONS, RETRY_FUNCTION}
    assert {name for name, call in deploys.items() if call.status != 0} == {"capture"}
    assert "FAILED capture" in run.stderr
    assert "Build failed for capture" in run.stderr
    assert "deployment failed for: capture" in run.stderr
    assert "run ./deploy.sh again" in run.stderr
    assert run.stdout == ""


def test_a_datastore_mode_database_is_refused(make_cloud: MakeCloud) -> None:
    """An existing Datastore-mode database stops the script with an explanation, before anything is deployed."""
    database = {"name": f"projects/{PROJECT}/databases/(default)", "type": "DATASTORE_MODE", "locationId": REGION}
    run = make_cloud(empty_project() | {"databases": {"(default)": database}}).run(*STANDARD_ARGS)
    assert run.returncode == 1
    assert "need Native mode" in run.stderr
    assert not any(call.is_("firestore", "databases", "create") for call in run.calls)
    assert run.deploys() == {}


def test_drift_is_repaired_in_place(make_cloud: MakeCloud, deployed_project: dict[str, Any]) -> None:
    """Changed topic retention or tick schedule is updated, a versionless secret gets a key; nothing is recreated."""
    deployed_project["topics"][TOPIC]["messageRetentionDuration"] = "604800s"
    (job,) = deployed_project["jobs"].values()
    job["schedule"] = "0 * * * *"
    deployed_project["secrets"][SECRET]["versions"] = []
    run = make_cloud(deployed_project).run(*STANDARD_ARGS, "--only", "health")
    assert run.returncode == 0, run.stderr
    assert sorted(call.argv[:3] for call in run.changes if not call.is_("functions", "deploy")) == [
        ("pubsub", "topics", "update"),
        ("scheduler", "jobs", "update"),
        ("secrets", "versions", "add"),
    ]
    assert run.state["topics"][TOPIC]["messageRetentionDuration"] == "2678400s"
    assert next(iter(run.state["jobs"].values()))["schedule"] == "*/10 * * * *"
    (add,) = [call for call in run.changes if call.is_("secrets", "versions", "add", SECRET)]
    assert add.flag("data-file") == "-"
    (version,) = run.state["secrets"][SECRET]["versions"]
    assert add.stdin_sha256 == version["sha256"]
    assert version["data"] not in run.stderr


def test_a_lookup_error_other_than_not_found_stops_the_script(make_cloud: MakeCloud) -> None:
    """A permission error while looking a resource up stops the run instead of being taken for "missing"."""
    run = make_cloud(empty_project() | {"deny": ["pubsub topics describe"]}).run(*STANDARD_ARGS)
    assert run.returncode == 1
    assert "PERMISSION_DENIED" in run.stderr
    assert not any(call.is_("pubsub", "topics", "create") for call in run.calls)
    assert run.deploys() == {}


# --------------------------------------------------------------------------
# Bounding the build images that deploys leave in Artifact Registry


def test_before_any_deploy_the_image_repository_exists_with_its_cleanup_policy(first_run: DeployRun) -> None:
    """gcf-artifacts is created (Docker, in the region) with the keep-2/delete-the-rest policy before the first deploy.

    Every deploy names it with --docker-repository, so parallel first deploys never race to create it.
    """
    (create,) = [call for call in first_run.calls if call.is_("artifacts", "repositories", "create")]
    (cleanup,) = [call for call in first_run.calls if call.is_(*SET_CLEANUP)]
    assert create.argv[3] == cleanup.argv[3] == GCF_REPOSITORY
    assert create.flag("location") == cleanup.flag("location") == REGION
    assert create.flag("repository-format") == "docker"
    assert cleanup.has("no-dry-run")
    assert not cleanup.has("dry-run")
    assert cleanup.status == 0
    first_deploy_start = min(call.start for call in first_run.deploys().values())
    assert create.end <= cleanup.start < cleanup.end <= first_deploy_start
    assert all(call.flag("docker-repository") == DOCKER_REPOSITORY for call in first_run.deploys().values())
    repository = gcf_repository(first_run.state)
    assert repository["cleanupPolicies"] == CLEANUP_POLICIES
    assert repository["cleanupPolicyDryRun"] is False


def test_the_policy_file_is_a_temporary_file_removed_on_exit(first_run: DeployRun, first_cloud: FakeCloud) -> None:
    """The --policy file lives in the run's temporary directory (under TMPDIR), which is gone after the run."""
    (cleanup,) = [call for call in first_run.calls if call.is_(*SET_CLEANUP)]
    policy_file = Path(cleanup.flag("policy") or "")
    assert policy_file.is_absolute()
    assert policy_file.is_relative_to(first_cloud.directory)
    assert not policy_file.exists()
    assert not policy_file.parent.exists()


def test_a_second_run_leaves_the_cleanup_policy_alone(second_run: DeployRun) -> None:
    """When gcf-artifacts already has the policy, a run only looks it up: no set-cleanup-policies call."""
    assert any(call.is_("artifacts", "repositories", "describe") for call in second_run.calls)
    assert not any(call.is_(*SET_CLEANUP) for call in second_run.calls)
    assert gcf_repository(second_run.state)["cleanupPolicies"] == CLEANUP_POLICIES


def test_dry_run_prints_the_cleanup_policy_command_with_the_policy(make_cloud: MakeCloud) -> None:
    """--dry-run prints set-cleanup-policies before the deploys, with the policy file's content as a comment."""
    run = make_cloud().run(*STANDARD_ARGS, "--dry-run")
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("+ gcloud ")]
    deploy_lines = [i for i, line in enumerate(lines) if line.startswith("+ gcloud functions deploy ")]
    (cleanup_line,) = [i for i, line in enumerate(lines) if line.startswith("+ gcloud " + " ".join(SET_CLEANUP))]
    assert cleanup_line < min(deploy_lines)
    command, comment = lines[cleanup_line].split("  # cleanup-policy.json: ")
    words = shlex.split(command)[2:]
    assert words[3] == GCF_REPOSITORY
    assert {f"--location={REGION}", "--no-dry-run", f"--project={PROJECT}"} <= set(words)
    rules = {rule["name"]: rule for rule in json.loads(comment)}
    assert rules["keep-2-most-recent"]["mostRecentVersions"] == {"keepCount": 2}
    assert rules["keep-2-most-recent"]["action"] == {"type": "KEEP"}
    assert rules["delete-older-versions"]["action"] == {"type": "DELETE"}
    assert rules["delete-older-versions"]["condition"] == {"tagState": "ANY"}


@pytest.mark.parametrize("drift", ["another policy", "dry-run mode"])
def test_a_different_cleanup_policy_is_replaced(
    make_cloud: MakeCloud, deployed_project: dict[str, Any], drift: str
) -> None:
    """Someone else's policy, or ours in dry-run mode (deleting nothing): the whole set is replaced by ours.

    (A repository without any policy is the first run's case.)
    """
    repository = gcf_repository(deployed_project)
    if drift == "another policy":
        repository["cleanupPolicies"] = {
            "firebase-functions-cleanup": {
                "id": "firebase-functions-cleanup",
                "action": "DELETE",
                "condition": {"tagState": "ANY", "olderThan": "86400s"},
            }
        }
    else:
        repository["cleanupPolicyDryRun"] = True
    run = make_cloud(deployed_project).run(*STANDARD_ARGS, "--only", "health")
    assert run.returncode == 0, run.stderr
    assert [call.argv[:3] for call in run.changes] == [SET_CLEANUP, ("functions", "deploy", "health")]
    assert gcf_repository(run.state)["cleanupPolicies"] == CLEANUP_POLICIES
    assert gcf_repository(run.state)["cleanupPolicyDryRun"] is False


def test_the_policy_counts_as_set_when_dry_run_mode_was_never_mentioned(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """The API may leave out cleanupPolicyDryRun when it is off: our policy without it is not set again."""
    del gcf_repository(deployed_project)["cleanupPolicyDryRun"]
    run = make_cloud(deployed_project).run(*STANDARD_ARGS, "--only", "health")
    assert run.returncode == 0, run.stderr
    assert [call.argv[:2] for call in run.changes] == [("functions", "deploy")]
