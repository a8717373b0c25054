"""A recording stand-in for the `gcloud` CLI, put first on PATH by the deploy tests.

Each call is appended as one JSON line to the file named by FAKE_GCLOUD_LOG. The
project's resources live in the JSON file named by FAKE_GCLOUD_STATE: read-only
commands answer from it as gcloud would (`value(...)` formats, NOT_FOUND errors),
commands that change something update it, so a second run sees what the first
created. Like gcloud, it exits 2 on a command or flag it does not know; it also
insists on `--flag=value` spelling and on an explicit --project, so that the
script never depends on someone's active gcloud configuration. Like Cloud
Functions, a deploy creates the region's `gcf-artifacts` repository when missing.

Knobs a test can put in the state: `deploy_barrier` (each deploy waits until
that many have started, which only happens if they run side by side),
`fail_deploy` (names whose deploy fails), `deny` (commands, such as
"pubsub topics describe", answered with PERMISSION_DENIED), `transient` (a list
of {"command", "target", "times", "error"}: the first `times` calls of that
command, on that first positional if given, fail with Google's message
MESSAGES[error]), `org_policies` (effective organisation policies by
constraint), `compute_sa_can_build` (whether builds without
--build-service-account succeed) and `function_base_url` (deployed functions
get URLs under it instead of run.app ones).

Like Google, it fails where a fresh project fails: a build as the Compute Engine
default account, a Pub/Sub-triggered deploy before the Eventarc service agent
holds its role, a deploy whose runtime account cannot read its secret, a public
function under domain-restricted sharing, and two gcloud processes that share a
configuration directory at the same time. MESSAGES holds Google's texts, each
with where it was found.

It runs once per gcloud call and must start fast: only cheap standard modules
at start-up (no dataclasses or contextlib; hashlib only when a key arrives).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import time
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Resource = dict[str, Any]
    State = dict[str, Any]


# Google's error texts for the failures of a fresh project, with where each was found.
MESSAGES = {
    # https://github.com/terraform-google-modules/terraform-docs-samples/issues/486,
    # https://github.com/hashicorp/terraform-provider-google/issues/14584 and /25294
    # (Cloud Functions 2nd gen with a Pub/Sub trigger on a new project).
    "eventarc_agent": (
        "ERROR: (gcloud.functions.deploy) OperationError: code=9, message=Validation failed for trigger "
        'projects/{project}/locations/{region}/triggers/{name}-123456: Invalid resource state for "": '
        "Permission denied while using the Eventarc Service Agent. If you recently started to use Eventarc, "
        "it may take a few minutes before all necessary permissions are propagated to the Service Agent. "
        "Otherwise, verify that it has Eventarc Service Agent role."
    ),
    # https://github.com/GoogleCloudPlatform/core-solution-services/issues/7,
    # https://github.com/googleapis/python-resource-manager/issues/129 (reason SERVICE_DISABLED).
    "api_disabled": (
        "ERROR: (gcloud.{command}) PERMISSION_DENIED: {api_title} API has not been used in project {number} "
        "before or it is disabled. Enable it by visiting "
        "https://console.developers.google.com/apis/api/{api}/overview?project={number} then retry. "
        "If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry."
    ),
    # https://github.com/sourcegraph/sourcegraph-public-snapshot/pull/59045 (Cloud Run revision of a new
    # service whose account was granted the secret a moment ago).
    "secret_access": (
        "ERROR: (gcloud.functions.deploy) OperationError: code=13, message=Could not create or update Cloud Run "
        "service {name}, Revision '{name}-00001-abc' is not ready and cannot serve traffic. "
        "spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Permission denied on secret: "
        "projects/{number}/secrets/{secret}/versions/{version} for Revision service account {account}."
    ),
    # https://github.com/google/oss-fuzz-gen/issues/163, https://github.com/GoogleCloudPlatform/ops-agent/pull/1645;
    # https://cloud.google.com/sdk/docs/scripting-gcloud: "Parallel execution of multiple gcloud CLI commands
    # is not supported."
    "database_locked": "ERROR: gcloud crashed (OperationalError): database is locked",
    # https://github.com/firebase/firebase-tools/issues/2238
    # (its violation has type constraints/iam.allowedPolicyMemberDomains).
    "domain_restricted": (
        "ERROR: (gcloud.functions.deploy) FAILED_PRECONDITION: One or more users named in the policy do not "
        "belong to a permitted customer."
    ),
    # https://github.com/GoogleCloudPlatform/terraform-genai-knowledge-base/issues/245,
    # https://github.com/GoogleCloudPlatform/marketing-analytics-jumpstart/issues/153 and
    # https://cloud.google.com/functions/docs/securing/build-custom-sa (builds as the Compute Engine
    # default account since July 2024).
    "build_account": (
        "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed with status: FAILURE. "
        "Could not build the function due to a missing permission on the build service account. If you didn't "
        "revoke that permission explicitly, this could be caused by a change in the organization policies. "
        "Please refer to the following documentation for more details and resolution: "
        "https://cloud.google.com/functions/docs/troubleshooting#build-service-account"
    ),
    # https://github.com/firebase/firebase-tools/issues/5244 (a fresh project's first 2nd gen deploy, its grants
    # seconds old); GoogleCloudPlatform/terraform-ml-image-annotation-gcf PR #138 waits for them.
    "artifact_repository": (
        "ERROR: (gcloud.functions.deploy) OperationError: code=7, message=Unable to retrieve the repository "
        "metadata for projects/{project}/locations/{region}/repositories/gcf-artifacts. Ensure that the Cloud "
        "Functions service account has 'artifactregistry.repositories.list' and 'artifactregistry.repositories.get' "
        "permissions. You can add the permissions by granting the role 'roles/artifactregistry.reader'."
    ),
    # https://github.com/firebase/firebase-tools/issues/5588; GoogleCloudPlatform/magic-modules PR #11324
    # (a sleep after the build account's grants).
    "source_bucket": (
        "ERROR: (gcloud.functions.deploy) OperationError: code=7, message=Access to bucket "
        "gcf-v2-sources-{number}-{region} denied. You must grant Storage Object Viewer permission to "
        "{number}-compute@developer.gserviceaccount.com."
    ),
    # https://github.com/firebase/firebase-tools/issues/5967 and /7268 (builds queued behind a new project's
    # few concurrent Cloud Build slots expire; Firebase's advice is to deploy in groups).
    "build_expired": (
        "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed with status: EXPIRED and "
        "message: An unexpected error occurred. Refer to build logs: "
        "https://console.cloud.google.com/cloud-build/builds;region={region}/0000?project={number}."
    ),
    # https://github.com/hashicorp/terraform-provider-google/issues/16599 (and /16664: "Please retry, underlying
    # data changed"): concurrent index or field changes answer 409 ABORTED.
    "contention": (
        "ERROR: (gcloud.{command}) ABORTED: Aborted due to cross-transaction contention. This occurs when multiple "
        "transactions attempt to access the same data, requiring Firestore to abort at least one in order to "
        "enforce serializability."
    ),
}
API_TITLES = {"firestore.googleapis.com": "Cloud Firestore", "pubsub.googleapis.com": "Cloud Pub/Sub"}
# What a build needs (https://cloud.google.com/functions/docs/securing/build-custom-sa).
BUILD_PROJECT_ROLES = ("roles/logging.logWriter", "roles/storage.objectViewer")


class GcloudError(Exception):
    """A failure gcloud would report on stderr with this exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class PartialFailure(GcloudError):
    """A failure after the command already changed something (the change stays)."""


class Command:
    """One gcloud command the fake understands: its handler and the flags it takes."""

    def __init__(
        self,
        handler: Callable[[Invocation, State], Any],
        mutating: bool,
        values: frozenset[str] = frozenset(),
        switches: frozenset[str] = frozenset(),
        repeatable: frozenset[str] = frozenset(),
    ) -> None:
        self.handler = handler
        self.mutating = mutating
        self.values = values
        self.switches = switches
        self.repeatable = repeatable


class Invocation:
    """A parsed call: command path, positionals, --flag=value pairs and switches."""

    def __init__(self, path: tuple[str, ...]) -> None:
        self.path = path
        self.positionals: list[str] = []
        self.values: dict[str, list[str]] = {}
        self.switches: set[str] = set()
        self.stdin: bytes | None = None
        self.configured_project = ""

    def value(self, name: str, default: str | None = None) -> str | None:
        """The flag's value (the last one if repeated)."""
        found = self.values.get(name)
        return found[-1] if found else default

    def require(self, name: str) -> str:
        """The flag's value, or gcloud's error for a missing required flag."""
        found = self.value(name)
        if found is None:
            raise GcloudError(f"ERROR: (gcloud.{'.'.join(self.path)}) argument --{name}: Must be specified.", 2)
        return found

    @property
    def project(self) -> str:
        """The project the command acts on."""
        return self.value("project") or (self.positionals[0] if self.path[0] == "projects" else "")


GLOBAL_VALUES = frozenset({"project", "format", "flatten"})
GLOBAL_SWITCHES = frozenset({"quiet"})


def not_found(invocation: Invocation, what: str) -> GcloudError:
    """The error gcloud reports for a resource that does not exist."""
    return GcloudError(f"ERROR: (gcloud.{'.'.join(invocation.path)}) NOT_FOUND: {what} not found.")


def already_exists(invocation: Invocation, what: str) -> GcloudError:
    """The error gcloud reports for creating a resource twice."""
    return GcloudError(f"ERROR: (gcloud.{'.'.join(invocation.path)}) ALREADY_EXISTS: {what} already exists.")


def parse_dict_flag(raw: str) -> dict[str, str]:
    """A dict-type flag as gcloud parses it, honouring the ^DELIM^ alternate delimiter."""
    delimiter = ","
    if raw.startswith("^") and raw.find("^", 1) > 1:
        end = raw.find("^", 1)
        delimiter, raw = raw[1:end], raw[end + 1 :]
    parsed = {}
    for item in raw.split(delimiter):
        key, equals, value = item.partition("=")
        if not equals:
            raise GcloudError(f"ERROR: (gcloud) Bad syntax for dict arg: [{item}].", 2)
        parsed[key] = value
    return parsed


def sha256(data: bytes) -> str:
    """Hex digest; hashlib is imported only here, as loading it costs more than the rest."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def seconds(duration: str) -> str:
    """A gcloud duration such as 31d as the API reports it ("2678400s")."""
    match = re.fullmatch(r"(\d+)([smhd])", duration)
    if not match:
        raise GcloudError(f"ERROR: (gcloud) invalid duration [{duration}].", 2)
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    return f"{int(match[1]) * unit}s"


# --------------------------------------------------------------------------
# Output: the few --format and --flatten forms the deploy script uses.


def _render_json(answer: Any, fmt: str) -> str:
    """`json` or `json(key,...)` of top-level keys: sorted keys, indent 2, null for nothing, as gcloud prints."""
    keys = [key.strip() for key in fmt[5:-1].split(",")] if fmt != "json" else None
    if keys is not None and not all(re.fullmatch(r"[A-Za-z]+", key) for key in keys):
        raise GcloudError(f"fake gcloud: unsupported --format={fmt}", 2)

    def project(record: Any) -> Any:
        return record if keys is None else {key: record[key] for key in keys if key in record} or None

    projected = [project(record) for record in answer] if isinstance(answer, list) else project(answer)
    return json.dumps(projected, indent=2, sort_keys=True) + "\n"


def _lookup(resource: Any, path: list[str]) -> str:
    if not path:
        if isinstance(resource, list):
            return ";".join(str(item) for item in resource)
        return "" if resource is None else str(resource)
    head, rest = path[0], path[1:]
    if head.endswith("[]"):
        items = resource.get(head[:-2], []) if isinstance(resource, dict) else []
        return ";".join(_lookup(item, rest) for item in items)
    return _lookup(resource.get(head) if isinstance(resource, dict) else None, rest)


def render(answer: Any, invocation: Invocation) -> str:
    """The text gcloud prints for `answer` under the call's --flatten and --format."""
    records = answer if isinstance(answer, list) else [answer]
    flatten = invocation.value("flatten")
    if flatten is not None:
        if flatten != "bindings[].members":
            raise GcloudError(f"fake gcloud: unsupported --flatten={flatten}", 2)
        records = [
            {"bindings": {"role": binding["role"], "members": member}}
            for record in records
            for binding in record.get("bindings", [])
            for member in binding["members"]
        ]
    fmt = invocation.value("format")
    if fmt is None:
        return "".join(json.dumps(record, indent=2) + "\n" for record in records)
    if fmt == "json" or (fmt.startswith("json(") and fmt.endswith(")")):
        if flatten is not None:
            raise GcloudError("fake gcloud: --flatten with a json format is not faked", 2)
        return _render_json(answer, fmt)
    match = re.fullmatch(r"value\((.*)\)", fmt)
    if not match:
        raise GcloudError(f"fake gcloud: unsupported --format={fmt}", 2)
    keys = [key.strip().split(".") for key in match[1].split(",")]
    return "".join("\t".join(_lookup(record, key) for key in keys) + "\n" for record in records)


# --------------------------------------------------------------------------
# Handlers: each returns what gcloud prints (a resource to render, or None).


def config_get_value(invocation: Invocation, state: State) -> None:
    if invocation.positionals != ["project"]:
        raise GcloudError("fake gcloud: only `config get-value project` is faked", 2)
    if os.environ.get("CLOUDSDK_CORE_PROJECT") or state.get("config_project"):
        print(os.environ.get("CLOUDSDK_CORE_PROJECT") or state["config_project"])
    else:
        print("(unset)", file=sys.stderr)


def auth_list(invocation: Invocation, state: State) -> list[Resource]:
    if invocation.value("filter") not in (None, "status:ACTIVE"):
        raise GcloudError("fake gcloud: unsupported auth list --filter", 2)
    return [{"account": state["account"], "status": "ACTIVE"}] if state.get("account") else []


def auth_print_access_token(invocation: Invocation, state: State) -> None:
    if not state.get("account"):
        raise GcloudError(
            "ERROR: (gcloud.auth.print-access-token) You do not currently have an active account selected."
        )
    print(state["access_token"])


def projects_describe(invocation: Invocation, state: State) -> Resource:
    project = invocation.positionals[0]
    return {"projectId": project, "projectNumber": state["projects"][project]}


def services_list(invocation: Invocation, state: State) -> list[Resource]:
    if "enabled" not in invocation.switches:
        raise GcloudError("fake gcloud: only `services list --enabled` is faked", 2)
    return [{"config": {"name": name}} for name in state["services"]]


def services_enable(invocation: Invocation, state: State) -> None:
    if not state.get("billing", {}).get("account"):
        # https://github.com/hashicorp/terraform-provider-google/issues/3308 and the Service Usage API's
        # FAILED_PRECONDITION for a project without billing.
        raise GcloudError(
            f"ERROR: (gcloud.services.enable) FAILED_PRECONDITION: Billing account for project "
            f"'{state['projects'][invocation.project]}' is not found. Billing must be enabled for activation of "
            f"service(s) '{','.join(invocation.positionals)}' to proceed."
        )
    for name in invocation.positionals:
        if not name.endswith(".googleapis.com"):
            raise GcloudError(f"ERROR: (gcloud.services.enable) Invalid service [{name}].")
        if name not in state["services"]:
            state["services"].append(name)


def _database(invocation: Invocation, state: State) -> Resource:
    database = invocation.value("database", "(default)")
    if database not in state["databases"]:
        raise GcloudError(
            f"ERROR: (gcloud.{'.'.join(invocation.path)}) NOT_FOUND: "
            f"Project '{invocation.project}' or database '{database}' does not exist."
        )
    return state["databases"][database]


def databases_describe(invocation: Invocation, state: State) -> Resource:
    return _database(invocation, state)


def databases_create(invocation: Invocation, state: State) -> None:
    database = invocation.value("database", "(default)")
    if database in state["databases"]:
        raise already_exists(invocation, f"Database {database}")
    kind = invocation.value("type", "firestore-native")
    if kind not in ("firestore-native", "datastore-mode"):
        raise GcloudError(f"ERROR: (gcloud.firestore.databases.create) argument --type: Invalid choice: '{kind}'.", 2)
    state["databases"][database] = {
        "name": f"projects/{invocation.project}/databases/{database}",
        "type": "FIRESTORE_NATIVE" if kind == "firestore-native" else "DATASTORE_MODE",
        "locationId": invocation.require("location"),
    }


def ttls_list(invocation: Invocation, state: State) -> list[Resource]:
    prefix = _database(invocation, state)["name"]
    return [
        {"name": f"{prefix}/collectionGroups/{key.replace('/', '/fields/')}", "ttlConfig": {"state": ttl_state}}
        for key, ttl_state in state["ttls"].items()
    ]


def ttls_update(invocation: Invocation, state: State) -> None:
    _database(invocation, state)
    if "enable-ttl" not in invocation.switches:
        raise GcloudError("fake gcloud: only --enable-ttl is faked", 2)
    # A new policy is CREATING for a while before it is ACTIVE.
    state["ttls"][f"{invocation.require('collection-group')}/{invocation.positionals[0]}"] = "CREATING"


def indexes_list(invocation: Invocation, state: State) -> list[Resource]:
    _database(invocation, state)
    return state["indexes"]


def indexes_create(invocation: Invocation, state: State) -> None:
    prefix = _database(invocation, state)["name"]
    group = invocation.require("collection-group")
    fields = []
    for config in invocation.values.get("field-config", []):
        parsed = dict(item.split("=", 1) for item in config.split(","))
        fields.append({"fieldPath": parsed["field-path"], "order": parsed["order"].upper()})
    # Firestore appends __name__ to every composite index.
    fields.append({"fieldPath": "__name__", "order": fields[-1]["order"] if fields else "ASCENDING"})
    scope = invocation.value("query-scope", "collection").upper()
    for index in state["indexes"]:
        if f"/collectionGroups/{group}/" in index["name"] and (index["queryScope"], index["fields"]) == (scope, fields):
            raise already_exists(invocation, "Index")
    number = len(state["indexes"]) + 1
    state["indexes"].append(
        {
            "name": f"{prefix}/collectionGroups/{group}/indexes/CICAgOjXh4EK{number}",
            "queryScope": scope,
            "state": "CREATING",
            "fields": fields,
        }
    )


def _topic(invocation: Invocation, state: State) -> Resource:
    name = invocation.positionals[0]
    if name not in state["topics"]:
        raise not_found(invocation, f"Resource (resource={name})")
    return state["topics"][name]


def topics_describe(invocation: Invocation, state: State) -> Resource:
    return _topic(invocation, state)


def topics_create(invocation: Invocation, state: State) -> None:
    name = invocation.positionals[0]
    if name in state["topics"]:
        raise already_exists(invocation, f"Resource (resource={name})")
    topic: Resource = {"name": f"projects/{invocation.project}/topics/{name}"}
    if invocation.value("message-retention-duration"):
        topic["messageRetentionDuration"] = seconds(invocation.require("message-retention-duration"))
    state["topics"][name] = topic
    state["policies"][f"topic/{name}"] = []


def topics_update(invocation: Invocation, state: State) -> None:
    _topic(invocation, state)["messageRetentionDuration"] = seconds(invocation.require("message-retention-duration"))


def _job_key(invocation: Invocation) -> str:
    return f"{invocation.require('location')}/{invocation.positionals[0]}"


def jobs_describe(invocation: Invocation, state: State) -> Resource:
    if _job_key(invocation) not in state["jobs"]:
        raise not_found(invocation, "Job")
    return state["jobs"][_job_key(invocation)]


def _apply_job_flags(invocation: Invocation, job: Resource) -> None:
    if invocation.value("schedule") is not None:
        job["schedule"] = invocation.require("schedule")
    if invocation.value("time-zone") is not None:
        job["timeZone"] = invocation.require("time-zone")
    if invocation.value("topic") is not None:
        topic = invocation.require("topic")
        if "/" not in topic:
            # gcloud 528 resolves a bare topic against the *configured* project while parsing, before --project
            # applies (seen with --verbosity=debug): CLOUDSDK_CORE_PROJECT, else `gcloud config set project`.
            configured = os.environ.get("CLOUDSDK_CORE_PROJECT") or invocation.configured_project
            if not configured:
                raise GcloudError(
                    f"ERROR: (gcloud.{'.'.join(invocation.path)}) The required property [project] is not currently "
                    "set. It can be set on a per-command basis by re-running your command with the [--project] flag."
                )
            topic = f"projects/{configured}/topics/{topic}"
        job["pubsubTarget"]["topicName"] = topic
    if invocation.value("message-body") is not None:
        job["pubsubTarget"]["data"] = invocation.require("message-body")


def jobs_create_pubsub(invocation: Invocation, state: State) -> None:
    key = _job_key(invocation)
    if key in state["jobs"]:
        raise already_exists(invocation, "Job")
    for required in ("schedule", "topic", "message-body"):
        invocation.require(required)
    job = {
        "name": f"projects/{invocation.project}/locations/{key.replace('/', '/jobs/')}",
        "timeZone": "Etc/UTC",
        "state": "ENABLED",
        "pubsubTarget": {},
    }
    _apply_job_flags(invocation, job)
    state["jobs"][key] = job


def jobs_update_pubsub(invocation: Invocation, state: State) -> None:
    _apply_job_flags(invocation, jobs_describe(invocation, state))


def _secret(invocation: Invocation, state: State) -> Resource:
    name = invocation.positionals[0]
    if name not in state["secrets"]:
        raise not_found(invocation, f"Secret [projects/{invocation.project}/secrets/{name}]")
    return state["secrets"][name]


def _new_version(invocation: Invocation, secret: Resource) -> None:
    if invocation.require("data-file") != "-":
        raise GcloudError("fake gcloud: the key must come on stdin (--data-file=-)", 2)
    data = invocation.stdin or b""
    if not data:
        raise GcloudError("ERROR: (gcloud.secrets) INVALID_ARGUMENT: Secret Payload cannot be empty.")
    secret["versions"].append({"state": "ENABLED", "data": data.decode(), "sha256": sha256(data)})


def secrets_describe(invocation: Invocation, state: State) -> Resource:
    secret = _secret(invocation, state)
    number = state["projects"][invocation.project]
    return {"name": f"projects/{number}/secrets/{invocation.positionals[0]}", "replication": secret["replication"]}


def secrets_create(invocation: Invocation, state: State) -> None:
    name = invocation.positionals[0]
    if name in state["secrets"]:
        raise already_exists(invocation, f"Secret [{name}]")
    secret: Resource = {"replication": invocation.value("replication-policy", "automatic"), "versions": []}
    if invocation.value("data-file") is not None:
        _new_version(invocation, secret)
    state["secrets"][name] = secret
    state["policies"][f"secret/{name}"] = []


def secrets_versions_list(invocation: Invocation, state: State) -> list[Resource]:
    versions = _secret(invocation, state)["versions"]
    prefix = f"projects/{state['projects'][invocation.project]}/secrets/{invocation.positionals[0]}/versions"
    listed = [{"name": f"{prefix}/{number}", "state": v["state"]} for number, v in enumerate(versions, 1)]
    return listed[::-1]


def secrets_versions_add(invocation: Invocation, state: State) -> None:
    _new_version(invocation, _secret(invocation, state))


def secrets_versions_access(invocation: Invocation, state: State) -> None:
    name, number = invocation.require("secret"), "".join(invocation.positionals)
    path = f"projects/{state['projects'][invocation.project]}/secrets/{name}/versions/{number}"
    versions = state["secrets"].get(name, {}).get("versions", [])
    if not number.isdigit() or not 1 <= int(number) <= len(versions):
        raise not_found(invocation, f"Secret Version [{path}]")
    if versions[int(number) - 1]["state"] != "ENABLED":
        raise GcloudError(
            f"ERROR: (gcloud.secrets.versions.access) FAILED_PRECONDITION: Secret Version [{path}] "
            "is in DISABLED state."
        )
    # The payload as stored, without a newline added, as gcloud prints it.
    sys.stdout.write(versions[int(number) - 1]["data"])


def accounts_describe(invocation: Invocation, state: State) -> Resource:
    email = invocation.positionals[0]
    if email not in state["service_accounts"]:
        raise not_found(invocation, f"Unknown service account {email}")
    return {"email": email, **state["service_accounts"][email]}


def accounts_create(invocation: Invocation, state: State) -> None:
    email = f"{invocation.positionals[0]}@{invocation.project}.iam.gserviceaccount.com"
    if email in state["service_accounts"]:
        raise already_exists(invocation, f"Service account {email}")
    state["service_accounts"][email] = {"displayName": invocation.value("display-name", "")}


def _policy_key(invocation: Invocation) -> str:
    kind = {"projects": "project", "pubsub": "topic", "secrets": "secret", "run": "run", "artifacts": "repository"}[
        invocation.path[0]
    ]
    name = invocation.positionals[0]
    if kind == "run":
        return f"run/{invocation.require('region')}/{name}"
    if kind == "repository":
        return f"repository/{invocation.require('location')}/{name}"
    return f"{kind}/{name}"


def _policy(invocation: Invocation, state: State) -> list[list[str]]:
    key = _policy_key(invocation)
    if key not in state["policies"]:
        raise not_found(invocation, f"Resource {key}")
    return state["policies"][key]


def get_iam_policy(invocation: Invocation, state: State) -> Resource:
    roles: dict[str, list[str]] = {}
    for role, member in _policy(invocation, state):
        roles.setdefault(role, []).append(member)
    return {"bindings": [{"role": role, "members": members} for role, members in roles.items()], "etag": "BwY="}


def add_iam_policy_binding(invocation: Invocation, state: State) -> Resource:
    policy = _policy(invocation, state)
    member, role = invocation.require("member"), invocation.require("role")
    account = member.removeprefix("serviceAccount:")
    if member.startswith("serviceAccount:") and account not in state["service_accounts"]:
        raise GcloudError(f"ERROR: (gcloud) INVALID_ARGUMENT: Service account {account} does not exist.")
    if invocation.path[0] == "projects" and invocation.value("condition") != "None":
        # Like many real projects, this one has conditional bindings.
        raise GcloudError(
            "ERROR: (gcloud.projects.add-iam-policy-binding) Adding a binding without specifying a condition to a "
            "policy containing conditions is prohibited in non-interactive mode. Run the command again with "
            "`--condition=None`"
        )
    if [role, member] not in policy:
        policy.append([role, member])
    # gcloud prints the whole new policy on stdout.
    return get_iam_policy(invocation, state)


GCF_REPOSITORY = "gcf-artifacts"
CLEANUP_ACTIONS = ("KEEP", "DELETE")
TAG_STATES = ("TAGGED", "UNTAGGED", "ANY")


def _repository(invocation: Invocation, state: State) -> Resource:
    key = f"{invocation.require('location')}/{invocation.positionals[0]}"
    if key not in state["repositories"]:
        # What the Artifact Registry API answers for a missing repository.
        raise GcloudError(f"ERROR: (gcloud.{'.'.join(invocation.path)}) NOT_FOUND: Requested entity was not found.")
    return state["repositories"][key]


def repositories_describe(invocation: Invocation, state: State) -> Resource:
    return _repository(invocation, state)


def _cleanup_policies(invocation: Invocation, path: str) -> dict[str, Resource]:
    """A policy file read as gcloud reads it (a list of named rules) and stored as the API keeps it (a map by id)."""
    command = f"gcloud.{'.'.join(invocation.path)}"
    try:
        with open(path) as file:
            rules = json.load(file)
    except (OSError, ValueError) as error:
        raise GcloudError(f"ERROR: ({command}) Could not read JSON file {path}: {error}") from error
    if not isinstance(rules, list):
        raise GcloudError(f"ERROR: ({command}) Policy file must contain a list of policies.")
    policies: dict[str, Resource] = {}
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict) or not isinstance(rule.get("action"), dict):
            raise GcloudError(f"ERROR: ({command}) Invalid policy at index {index}.")
        name, action = rule.get("name"), str(rule["action"].get("type", "")).upper()
        if not name or name in policies:
            raise GcloudError(f"ERROR: ({command}) a policy without a name, or a duplicate name: {name!r}.")
        if action not in CLEANUP_ACTIONS:
            raise GcloudError(f"ERROR: ({command}) INVALID_ARGUMENT: invalid action in policy {name!r}.")
        if ("condition" in rule) == ("mostRecentVersions" in rule):
            raise GcloudError(f'ERROR: ({command}) policy {name!r} needs one of "condition" or "mostRecentVersions".')
        policy: Resource = {"id": name, "action": action}
        if "mostRecentVersions" in rule:
            if action != "KEEP" or not isinstance(rule["mostRecentVersions"].get("keepCount"), int):
                raise GcloudError(f"ERROR: ({command}) INVALID_ARGUMENT: invalid mostRecentVersions in {name!r}.")
            policy["mostRecentVersions"] = rule["mostRecentVersions"]
        else:
            condition = dict(rule["condition"])
            if "tagState" in condition:
                # The API takes enum names in any case and reports them upper-case.
                condition["tagState"] = str(condition["tagState"]).upper()
                if condition["tagState"] not in TAG_STATES:
                    raise GcloudError(f"ERROR: ({command}) INVALID_ARGUMENT: invalid tagState in {name!r}.")
            policy["condition"] = condition
        policies[name] = policy
    return policies


def repositories_set_cleanup_policies(invocation: Invocation, state: State) -> list[Resource]:
    repository = _repository(invocation, state)
    given = invocation.switches & {"dry-run", "no-dry-run"}
    if invocation.value("policy") is None and not given:
        raise GcloudError(
            f"ERROR: (gcloud.{'.'.join(invocation.path)}) At least one of (--dry-run | --policy) must be specified.", 2
        )
    if len(given) > 1:
        raise GcloudError("fake gcloud: give --dry-run or --no-dry-run, not both", 2)
    if invocation.value("policy") is not None:
        # The whole map is replaced: policies missing from the file are gone.
        repository["cleanupPolicies"] = _cleanup_policies(invocation, invocation.require("policy"))
    if given:
        repository["cleanupPolicyDryRun"] = given == {"dry-run"}
    # gcloud prints the policies in the file's form.
    printed = []
    for name, policy in sorted(repository.get("cleanupPolicies", {}).items()):
        rest = {key: value for key, value in policy.items() if key not in ("id", "action")}
        printed.append({"name": name, "action": {"type": policy["action"]}, **rest})
    return printed


def _holds(state: State, key: str, role: str, member: str) -> bool:
    return [role, member] in state["policies"].get(key, [])


def functions_deploy(invocation: Invocation, state: State) -> Resource:
    name = invocation.positionals[0]
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,61}[a-z0-9]", name):
        raise GcloudError(f"ERROR: (gcloud.functions.deploy) Invalid function name [{name}].", 2)
    for required in ("runtime", "region", "source", "entry-point"):
        invocation.require(required)
    if "gen2" not in invocation.switches:
        raise GcloudError("fake gcloud: deploys must say --gen2", 2)
    given = invocation.switches | set(invocation.values)
    triggers = [flag for flag in ("trigger-http", "trigger-topic") if flag in given]
    if len(triggers) != 1:
        raise GcloudError("ERROR: (gcloud.functions.deploy) exactly one trigger must be given.", 2)
    if {"retry", "no-retry"} <= invocation.switches:
        raise GcloudError("fake gcloud: --retry and --no-retry together", 2)
    project, region = invocation.project, invocation.require("region")
    number = state["projects"][project]
    repository = invocation.value("docker-repository")
    if repository is not None:
        match = re.fullmatch(rf"projects/{project}/locations/{region}/repositories/([a-z0-9-]+)", repository)
        if not match or f"{region}/{match[1]}" not in state["repositories"]:
            raise GcloudError(f"ERROR: (gcloud.functions.deploy) NOT_FOUND: Repository {repository} not found.")
    builder = invocation.value("build-service-account")
    if builder is None:
        if not state.get("compute_sa_can_build"):
            raise GcloudError(MESSAGES["build_account"])
    else:
        email = builder.rpartition("/")[2]
        member = f"serviceAccount:{email}"
        repository_key = f"{region}/{(repository or '').rpartition('/')[2] or GCF_REPOSITORY}"
        if (
            builder != f"projects/{project}/serviceAccounts/{email}"
            or email not in state["service_accounts"]
            or not all(_holds(state, f"project/{project}", role, member) for role in BUILD_PROJECT_ROLES)
            or not _holds(state, f"repository/{repository_key}", "roles/artifactregistry.writer", member)
        ):
            raise GcloudError(MESSAGES["build_account"])
    if name in state.get("fail_deploy", []):
        print("Preparing function...done.\nBuilding...failed.", file=sys.stderr)
        raise GcloudError(f"ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed for {name}")
    env = parse_dict_flag(raw_env) if (raw_env := invocation.value("set-env-vars")) else {}
    secrets = parse_dict_flag(raw_secrets) if (raw_secrets := invocation.value("set-secrets")) else {}
    service_account = invocation.value("service-account")
    if service_account is not None and service_account not in state["service_accounts"]:
        raise GcloudError(f"ERROR: (gcloud.functions.deploy) Service account {service_account} does not exist.")
    for reference in secrets.values():
        secret_name, _, version = reference.partition(":")
        if secret_name not in state["secrets"]:
            raise GcloudError(f"ERROR: (gcloud.functions.deploy) Secret {secret_name} does not exist.")
        versions = state["secrets"][secret_name]["versions"]
        if version != "latest" and not (version.isdigit() and 1 <= int(version) <= len(versions)):
            raise GcloudError(f"ERROR: (gcloud.functions.deploy) Secret version {reference} does not exist.")
        # `latest` is the most recently *created* version, enabled or not (Secret Manager API, versions.access).
        pinned = len(versions) if version == "latest" else int(version)
        if versions and versions[pinned - 1]["state"] != "ENABLED":
            raise GcloudError(
                f"ERROR: (gcloud.functions.deploy) FAILED_PRECONDITION: Secret Version "
                f"[projects/{number}/secrets/{secret_name}/versions/{pinned}] is in DISABLED state."
            )
        if not _holds(
            state, f"secret/{secret_name}", "roles/secretmanager.secretAccessor", f"serviceAccount:{service_account}"
        ):
            raise GcloudError(
                MESSAGES["secret_access"].format(
                    name=name, number=number, secret=secret_name, version=version, account=service_account
                )
            )
    if "trigger-topic" in triggers:
        agent = f"serviceAccount:service-{number}@gcp-sa-eventarc.iam.gserviceaccount.com"
        if not _holds(state, f"project/{project}", "roles/eventarc.serviceAgent", agent):
            raise GcloudError(MESSAGES["eventarc_agent"].format(project=project, region=region, name=name))
    digest = format(zlib.crc32(f"{project}/{name}".encode()), "08x")
    base = state.get("function_base_url")
    uri = f"{base}/fn/{name}" if base else f"https://{name}-{digest}-uc.a.run.app"
    state["functions"][f"{region}/{name}"] = {
        "name": f"projects/{project}/locations/{region}/functions/{name}",
        "entryPoint": invocation.value("entry-point"),
        "trigger": triggers[0],
        "env": env,
        "secrets": secrets,
        "retry": "retry" in invocation.switches,
        "serviceConfig": {"uri": uri, "serviceAccountEmail": service_account},
    }
    policy = state["policies"].setdefault(f"run/{region}/{name}", [])
    if "allow-unauthenticated" in invocation.switches and ["roles/run.invoker", "allUsers"] not in policy:
        if _public_access_forbidden(state):
            # The function exists, but stays private: exactly the half-done state to avoid.
            raise PartialFailure(MESSAGES["domain_restricted"])
        policy.append(["roles/run.invoker", "allUsers"])
    if repository is None:
        # Without --docker-repository the build creates the region's gcf-artifacts.
        state["repositories"].setdefault(
            f"{region}/{GCF_REPOSITORY}",
            {
                "name": f"projects/{project}/locations/{region}/repositories/{GCF_REPOSITORY}",
                "format": "DOCKER",
                "mode": "STANDARD_REPOSITORY",
            },
        )
    # gcloud prints the deployed function on stdout.
    return state["functions"][f"{region}/{name}"]


def functions_describe(invocation: Invocation, state: State) -> Resource:
    name, region = invocation.positionals[0], invocation.require("region")
    function = state["functions"].get(f"{region}/{name}")
    if function is None:
        raise GcloudError(
            "ERROR: (gcloud.functions.describe) ResponseError: status=[404], code=[Ok], "
            f"message=[Function {name} in region {region} in project {invocation.project} does not exist]"
        )
    return function


def info(invocation: Invocation, state: State) -> Resource:
    config = os.environ.get("CLOUDSDK_CONFIG") or os.path.join(os.environ["HOME"], ".config", "gcloud")
    return {"config": {"paths": {"global_config_dir": config}}}


def org_policies_describe(invocation: Invocation, state: State) -> Resource:
    if "effective" not in invocation.switches:
        raise GcloudError("fake gcloud: only the --effective policy is faked", 2)
    constraint = invocation.positionals[0]
    policy = state.get("org_policies", {}).get(constraint, {})
    return {"name": f"projects/{state['projects'][invocation.project]}/policies/{constraint}", **policy}


def _public_access_forbidden(state: State) -> bool:
    rules = state.get("org_policies", {}).get("iam.allowedPolicyMemberDomains", {}).get("spec", {}).get("rules", [])
    return any(rule.get("values", {}).get("allowedValues") and not rule.get("allowAll") for rule in rules)


def identity_create(invocation: Invocation, state: State) -> Resource:
    service = invocation.require("service")
    agent = service.split(".")[0]
    email = f"service-{state['projects'][invocation.project]}@gcp-sa-{agent}.iam.gserviceaccount.com"
    binding = [f"roles/{agent}.serviceAgent", f"serviceAccount:{email}"]
    policy = state["policies"][f"project/{invocation.project}"]
    if binding not in policy:
        policy.append(binding)
    return {"email": email}


def repositories_create(invocation: Invocation, state: State) -> None:
    location, name = invocation.require("location"), invocation.positionals[0]
    key = f"{location}/{name}"
    if key in state["repositories"]:
        raise already_exists(invocation, f"Repository {name}")
    if invocation.require("repository-format") != "docker":
        raise GcloudError("fake gcloud: only docker repositories are faked", 2)
    state["repositories"][key] = {
        "name": f"projects/{invocation.project}/locations/{location}/repositories/{name}",
        "format": "DOCKER",
        "mode": "STANDARD_REPOSITORY",
    }
    state["policies"][f"repository/{key}"] = []


def metrics_describe(invocation: Invocation, state: State) -> Resource:
    name = invocation.positionals[0]
    if name not in state.setdefault("log_metrics", {}):
        raise not_found(invocation, f"Metric {name}")
    return state["log_metrics"][name]


def metrics_create(invocation: Invocation, state: State) -> None:
    name = invocation.positionals[0]
    if name in state.setdefault("log_metrics", {}):
        raise already_exists(invocation, f"Metric {name}")
    state["log_metrics"][name] = {"name": name, "filter": invocation.require("log-filter")}


def metrics_update(invocation: Invocation, state: State) -> None:
    metrics_describe(invocation, state)["filter"] = invocation.require("log-filter")


def billing_projects_describe(invocation: Invocation, state: State) -> Resource:
    billing = state.get("billing", {})
    if billing.get("deny_project"):
        raise GcloudError("ERROR: (gcloud.billing.projects.describe) PERMISSION_DENIED: denied.")
    account = billing.get("account", "")
    return {"billingAccountName": f"billingAccounts/{account}" if account else "", "billingEnabled": bool(account)}


def _billing_account(invocation: Invocation, state: State) -> Resource:
    billing = state.get("billing", {})
    if invocation.require("billing-account") != billing.get("account") or billing.get("deny_account"):
        raise GcloudError(
            f"ERROR: (gcloud.{'.'.join(invocation.path)}) PERMISSION_DENIED: The caller does not have permission"
        )
    return billing


def budgets_list(invocation: Invocation, state: State) -> list[Resource]:
    return _billing_account(invocation, state).setdefault("budgets", [])


def budgets_create(invocation: Invocation, state: State) -> None:
    budgets = _billing_account(invocation, state).setdefault("budgets", [])
    budgets.append(
        {
            "displayName": invocation.require("display-name"),
            "amount": invocation.require("budget-amount"),
            "projects": invocation.values.get("filter-projects", []),
            "thresholds": invocation.values.get("threshold-rule", []),
        }
    )


def version(invocation: Invocation, state: State) -> Resource:
    return {"Google Cloud SDK": state.get("gcloud_version", "528.0.0"), "core": "2025.06.20"}


def schedules_list(invocation: Invocation, state: State) -> list[Resource]:
    return _database(invocation, state).get("backup_schedules", [])


def schedules_create(invocation: Invocation, state: State) -> None:
    database = _database(invocation, state)
    recurrence = invocation.require("recurrence")
    if recurrence not in ("daily", "weekly"):
        raise GcloudError(f"ERROR: (gcloud.firestore.backups.schedules.create) invalid recurrence [{recurrence}]", 2)
    schedules = database.setdefault("backup_schedules", [])
    schedules.append(
        {
            "name": f"{database['name']}/backupSchedules/{len(schedules) + 1}",
            "dailyRecurrence": {},
            "retention": seconds(invocation.require("retention")),
        }
    )


def backups_list(invocation: Invocation, state: State) -> list[Resource]:
    return [
        b
        for b in state.get("backups", [])
        if b["name"].split("/locations/")[1].startswith(invocation.require("location"))
    ]


def _iam(handler: Callable[[Invocation, State], Any], *extra: str) -> Command:
    mutating = handler is add_iam_policy_binding
    values = {"member", "role", *extra} if mutating else set(extra)
    return Command(handler, mutating, frozenset(values))


DEPLOY_VALUES = frozenset(
    {
        "runtime",
        "region",
        "source",
        "entry-point",
        "trigger-topic",
        "service-account",
        "trigger-service-account",
        "memory",
        "timeout",
        "min-instances",
        "max-instances",
        "set-env-vars",
        "set-secrets",
        "build-service-account",
        "docker-repository",
        "ingress-settings",
    }
)

COMMANDS: dict[tuple[str, ...], Command] = {
    ("config", "get-value"): Command(config_get_value, False),
    ("auth", "list"): Command(auth_list, False, frozenset({"filter"})),
    ("auth", "print-access-token"): Command(auth_print_access_token, False),
    ("projects", "describe"): Command(projects_describe, False),
    ("projects", "get-iam-policy"): _iam(get_iam_policy),
    ("projects", "add-iam-policy-binding"): _iam(add_iam_policy_binding, "condition"),
    ("services", "list"): Command(services_list, False, switches=frozenset({"enabled"})),
    ("services", "enable"): Command(services_enable, True),
    ("firestore", "databases", "describe"): Command(databases_describe, False, frozenset({"database"})),
    ("firestore", "databases", "create"): Command(databases_create, True, frozenset({"database", "location", "type"})),
    ("firestore", "fields", "ttls", "list"): Command(ttls_list, False, frozenset({"database"})),
    ("firestore", "fields", "ttls", "update"): Command(
        ttls_update, True, frozenset({"database", "collection-group"}), frozenset({"enable-ttl", "async"})
    ),
    ("firestore", "indexes", "composite", "list"): Command(indexes_list, False, frozenset({"database"})),
    ("firestore", "indexes", "composite", "create"): Command(
        indexes_create,
        True,
        frozenset({"database", "collection-group", "query-scope", "field-config"}),
        frozenset({"async"}),
        repeatable=frozenset({"field-config"}),
    ),
    ("pubsub", "topics", "describe"): Command(topics_describe, False),
    ("pubsub", "topics", "create"): Command(topics_create, True, frozenset({"message-retention-duration"})),
    ("pubsub", "topics", "update"): Command(topics_update, True, frozenset({"message-retention-duration"})),
    ("pubsub", "topics", "get-iam-policy"): _iam(get_iam_policy),
    ("pubsub", "topics", "add-iam-policy-binding"): _iam(add_iam_policy_binding),
    ("scheduler", "jobs", "describe"): Command(jobs_describe, False, frozenset({"location"})),
    ("scheduler", "jobs", "create", "pubsub"): Command(
        jobs_create_pubsub,
        True,
        frozenset({"location", "schedule", "time-zone", "topic", "message-body", "description"}),
    ),
    ("scheduler", "jobs", "update", "pubsub"): Command(
        jobs_update_pubsub,
        True,
        frozenset({"location", "schedule", "time-zone", "topic", "message-body", "description"}),
    ),
    ("secrets", "describe"): Command(secrets_describe, False),
    ("secrets", "create"): Command(secrets_create, True, frozenset({"replication-policy", "data-file"})),
    ("secrets", "versions", "list"): Command(secrets_versions_list, False),
    ("secrets", "versions", "add"): Command(secrets_versions_add, True, frozenset({"data-file"})),
    ("secrets", "versions", "access"): Command(secrets_versions_access, False, frozenset({"secret"})),
    ("secrets", "get-iam-policy"): _iam(get_iam_policy),
    ("secrets", "add-iam-policy-binding"): _iam(add_iam_policy_binding),
    ("iam", "service-accounts", "describe"): Command(accounts_describe, False),
    ("iam", "service-accounts", "create"): Command(accounts_create, True, frozenset({"display-name"})),
    ("run", "services", "get-iam-policy"): _iam(get_iam_policy, "region"),
    ("run", "services", "add-iam-policy-binding"): _iam(add_iam_policy_binding, "region"),
    ("functions", "deploy"): Command(
        functions_deploy,
        True,
        DEPLOY_VALUES,
        frozenset({"gen2", "trigger-http", "allow-unauthenticated", "retry", "no-retry"}),
    ),
    ("info",): Command(info, False),
    ("org-policies", "describe"): Command(org_policies_describe, False, switches=frozenset({"effective"})),
    ("version",): Command(version, False),
    ("firestore", "backups", "schedules", "list"): Command(schedules_list, False, frozenset({"database"})),
    ("firestore", "backups", "schedules", "create"): Command(
        schedules_create, True, frozenset({"database", "recurrence", "retention"})
    ),
    ("firestore", "backups", "list"): Command(backups_list, False, frozenset({"location"})),
    ("beta", "services", "identity", "create"): Command(identity_create, True, frozenset({"service"})),
    ("artifacts", "repositories", "create"): Command(
        repositories_create, True, frozenset({"location", "repository-format", "description"})
    ),
    ("artifacts", "repositories", "get-iam-policy"): _iam(get_iam_policy, "location"),
    ("artifacts", "repositories", "add-iam-policy-binding"): _iam(add_iam_policy_binding, "location"),
    ("logging", "metrics", "describe"): Command(metrics_describe, False),
    ("logging", "metrics", "create"): Command(metrics_create, True, frozenset({"log-filter", "description"})),
    ("logging", "metrics", "update"): Command(metrics_update, True, frozenset({"log-filter", "description"})),
    ("billing", "projects", "describe"): Command(billing_projects_describe, False),
    ("billing", "budgets", "list"): Command(budgets_list, False, frozenset({"billing-account"})),
    ("billing", "budgets", "create"): Command(
        budgets_create,
        True,
        frozenset({"billing-account", "display-name", "budget-amount", "filter-projects", "threshold-rule"}),
        repeatable=frozenset({"threshold-rule"}),
    ),
    ("functions", "describe"): Command(functions_describe, False, frozenset({"region"}), frozenset({"gen2"})),
    ("artifacts", "repositories", "describe"): Command(repositories_describe, False, frozenset({"location"})),
    ("artifacts", "repositories", "set-cleanup-policies"): Command(
        repositories_set_cleanup_policies,
        True,
        frozenset({"location", "policy"}),
        frozenset({"dry-run", "no-dry-run"}),
    ),
}


# --------------------------------------------------------------------------
# Running one call


def parse(argv: list[str]) -> tuple[Command, Invocation]:
    """The command and its arguments, or exit status 2 as gcloud gives for bad usage."""
    leading = []
    for word in argv:
        if word.startswith("-"):
            break
        leading.append(word)
    for length in range(len(leading), 0, -1):
        if tuple(leading[:length]) in COMMANDS:
            path = tuple(leading[:length])
            break
    else:
        raise GcloudError(f"fake gcloud: unknown command: {' '.join(leading)}", 2)
    command = COMMANDS[path]
    invocation = Invocation(path)
    for word in argv[len(path) :]:
        if not word.startswith("--"):
            invocation.positionals.append(word)
            continue
        name, equals, value = word[2:].partition("=")
        if name in command.switches | GLOBAL_SWITCHES and not equals:
            invocation.switches.add(name)
        elif name in command.values | GLOBAL_VALUES and equals:
            if name in invocation.values and name not in command.repeatable:
                raise GcloudError(f"fake gcloud: --{name} given twice", 2)
            invocation.values.setdefault(name, []).append(value)
        elif name in command.values | GLOBAL_VALUES:
            raise GcloudError(f"fake gcloud: write --{name}=VALUE in one word", 2)
        else:
            raise GcloudError(f"ERROR: (gcloud.{'.'.join(path)}) unrecognized arguments: {word}", 2)
    return command, invocation


class Locked:
    """Holds an exclusive lock: parallel deploys share the state and the log."""

    def __init__(self, path: str) -> None:
        self.path = path + ".lock"

    def __enter__(self) -> None:
        self.file = open(self.path, "a")
        fcntl.flock(self.file, fcntl.LOCK_EX)

    def __exit__(self, *exc_info: object) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def wait_for_peers(state_path: str, expected: int, patience: float = 3.0) -> int:
    """Counts this deploy in, then waits until `expected` deploys have started (or patience runs out).

    Returns how many had started: `expected` only if the deploys really run side by side.
    """
    counter = state_path + ".deploys"
    with Locked(counter), open(counter, "a+") as file:
        file.seek(0)
        started = int(file.read() or 0)
        file.truncate(0)
        file.write(str(started + 1))
    deadline = time.monotonic() + patience
    while True:
        with Locked(counter), open(counter) as file:
            started = int(file.read())
        if started >= expected or time.monotonic() > deadline:
            return started
        time.sleep(0.02)


def _config_counts(state_path: str, config: str, change: int) -> int:
    path = state_path + ".configs"
    with Locked(path), open(path, "a+") as file:
        file.seek(0)
        counts = json.loads(file.read() or "{}")
        counts[config] = counts.get(config, 0) + change
        file.seek(0)
        file.truncate()
        file.write(json.dumps(counts))
    return counts[config]


def enter_config(state_path: str, config: str) -> bool:
    """Counts a gcloud process in on its configuration directory; whether another one is using it."""
    return _config_counts(state_path, config, 1) > 1


def config_users(state_path: str, config: str) -> int:
    """How many gcloud processes use the configuration directory right now."""
    return _config_counts(state_path, config, 0)


def leave_config(state_path: str, config: str) -> None:
    """Counts a gcloud process out of its configuration directory."""
    _config_counts(state_path, config, -1)


def transient_failure(invocation: Invocation, state: State) -> GcloudError | None:
    """The error of the first matching `transient` entry still armed (and disarms it once)."""
    for entry in state.get("transient", []):
        target = entry.get("target")
        if entry["command"] != " ".join(invocation.path) or entry["times"] <= 0:
            continue
        if target is not None and invocation.positionals[:1] != [target]:
            continue
        entry["times"] -= 1
        entry["failed"] = entry.get("failed", 0) + 1
        return GcloudError(MESSAGES[entry["error"]].format(**details(invocation, state, entry.get("api"))))
    return None


def details(invocation: Invocation, state: State, api: str | None = None) -> dict[str, str]:
    """What Google's messages name: project, number, region, resource, command, API."""
    api = api or "firestore.googleapis.com"
    return {
        "project": invocation.project,
        "number": state["projects"].get(invocation.project, "0"),
        "region": invocation.value("region", "us-central1") or "us-central1",
        "name": invocation.positionals[0] if invocation.positionals else "",
        "command": ".".join(invocation.path),
        "api": api,
        "api_title": API_TITLES.get(api, api),
        "secret": "tweet-capture-jwt-key",
        "version": "1",
        "account": invocation.value("service-account", "") or "",
    }


def run(argv: list[str], state_path: str) -> tuple[int, bool, dict[str, Any]]:
    """Executes one call against the state file: (exit status, mutating, facts to log)."""
    facts: dict[str, Any] = {}
    try:
        command, invocation = parse(argv)
    except GcloudError as error:
        print(error, file=sys.stderr)
        return error.status, False, facts
    if invocation.value("data-file") == "-":
        invocation.stdin = sys.stdin.buffer.read()
        facts["stdin_sha256"] = sha256(invocation.stdin)
    try:
        with Locked(state_path), open(state_path) as file:
            state = json.load(file)
        if invocation.path[0] not in ("config", "auth", "version"):
            if not invocation.project:
                raise GcloudError("fake gcloud: name the project with --project=ID", 2)
            if invocation.project not in state["projects"]:
                raise GcloudError(
                    f"ERROR: (gcloud.{'.'.join(invocation.path)}) PERMISSION_DENIED: "
                    f"Permission denied on resource project {invocation.project} (or it may not exist)."
                )
            if " ".join(invocation.path) in state.get("deny", []):
                raise GcloudError(f"ERROR: (gcloud.{'.'.join(invocation.path)}) PERMISSION_DENIED: denied.")
        invocation.configured_project = state.get("config_project", "")
        if invocation.path == ("functions", "deploy"):
            facts["config"] = config = info(invocation, state)["config"]["paths"]["global_config_dir"]
            sharing = enter_config(state_path, config)
            building = enter_config(state_path, "builds") and config_users(state_path, "builds")
            try:
                if state.get("deploy_barrier"):
                    facts["peers"] = wait_for_peers(state_path, state["deploy_barrier"])
                if sharing or config_users(state_path, config) > 1:
                    raise GcloudError(MESSAGES["database_locked"])
                if state.get("build_slots"):
                    # Like a new project's Cloud Build pool: builds beyond its few slots queue, then expire.
                    time.sleep(0.3)
                    if max(building, config_users(state_path, "builds")) > state["build_slots"]:
                        raise GcloudError(MESSAGES["build_expired"].format(**details(invocation, state)))
            finally:
                leave_config(state_path, config)
                leave_config(state_path, "builds")
        with Locked(state_path):
            with open(state_path) as file:
                state = json.load(file)
            if failure := transient_failure(invocation, state):
                with open(state_path, "w") as file:
                    json.dump(state, file, indent=1)
                raise failure
            try:
                answer = command.handler(invocation, state)
            except PartialFailure:
                with open(state_path, "w") as file:
                    json.dump(state, file, indent=1)
                raise
            if command.mutating:
                with open(state_path, "w") as file:
                    json.dump(state, file, indent=1)
    except GcloudError as error:
        print(error, file=sys.stderr)
        return error.status, command.mutating, facts
    if answer is not None:
        sys.stdout.write(render(answer, invocation))
    elif command.mutating:
        # Like many gcloud commands that change something, describe the result on stdout.
        print(f"done: true\nrequest: {' '.join(invocation.path)}")
    if command.mutating:
        print(f"Updated [{' '.join(invocation.path)} {' '.join(invocation.positionals)}].", file=sys.stderr)
    return 0, command.mutating, facts


def main() -> int:
    """Runs the call, then appends it to the log: argv, outcome and timing."""
    started = time.time()
    status, mutating, facts = run(sys.argv[1:], os.environ["FAKE_GCLOUD_STATE"])
    entry = {
        "argv": sys.argv[1:],
        "status": status,
        "mutating": mutating,
        "start": started,
        "end": time.time(),
        "cwd": os.getcwd(),
    }
    # Set for every call by the deploy: gcloud then never falls back to someone's configured project.
    facts["core_project"] = os.environ.get("CLOUDSDK_CORE_PROJECT")
    log_path = os.environ["FAKE_GCLOUD_LOG"]
    with Locked(log_path), open(log_path, "a") as log:
        log.write(json.dumps(entry | facts) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
