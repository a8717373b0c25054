"""deploy.sh's calls to the Google APIs that gcloud has no GA command for.

`rules`: release firestore.rules through the Firebase Rules API, only when the
live release's ruleset differs from the file. `alerts`: an e-mail notification
channel for the owner and the service's alert policies through the Cloud
Monitoring API, each created only when missing (found by display name).

Standard library only (it runs with the deployer's python3, outside the project's
virtualenv). The access token comes on stdin, never in an argument. The API base
URLs follow gcloud's endpoint overrides (CLOUDSDK_API_ENDPOINT_OVERRIDES_FIREBASERULES,
..._MONITORING), which the deploy tests point at a local fake.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 30
ALERT_PREFIX = "Tweet Capture API: "
CHANNEL_NAME = "Tweet Capture API owner"


class ApiError(Exception):
    """A Google API answered with an error (its status and message)."""


class Api:
    """One Google REST API, called with the deployer's access token on behalf of the project."""

    def __init__(self, name: str, default_base: str, token: str, project: str) -> None:
        override = os.environ.get(f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{name.upper()}")
        self.base = (override or default_base).rstrip("/") + "/"
        self.token = token
        self.project = project

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        """The decoded JSON answer; None for 404; ApiError for any other failure."""
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - https or a test's loopback
        request.add_header("Authorization", f"Bearer {self.token}")
        # User credentials need a quota project for these APIs: the project itself.
        request.add_header("X-Goog-User-Project", self.project)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise ApiError(f"{method} {path}: HTTP {error.code}: {_message(error.read())}") from None
        except OSError as error:
            raise ApiError(f"{method} {path}: {error}") from None
        return json.loads(text) if text else {}


def _message(raw: bytes) -> str:
    """Google's error message from an error body (the body itself if it is not the usual JSON)."""
    try:
        return str(json.loads(raw)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return raw.decode(errors="replace")[:500]


def release_rules(api: Api, release: str, path: str) -> str:
    """Release the rules file unless the live release already serves exactly it; what was done."""
    with open(path, encoding="utf-8") as file:
        content = file.read()
    release_name = f"projects/{api.project}/releases/{release}"
    live = api.call("GET", f"v1/{release_name}")
    if live is not None:
        ruleset = api.call("GET", f"v1/{live['rulesetName']}") or {}
        files = ruleset.get("source", {}).get("files", [])
        if [entry.get("content") for entry in files] == [content]:
            return f"security rules unchanged ({live['rulesetName']})"
    created = api.call(
        "POST",
        f"v1/projects/{api.project}/rulesets",
        {"source": {"files": [{"name": os.path.basename(path), "content": content}]}},
    )
    new = {"name": release_name, "rulesetName": created["name"]}
    if live is None:
        api.call("POST", f"v1/projects/{api.project}/releases", new)
    else:
        api.call("PATCH", f"v1/{release_name}", {"release": new})
    return f"security rules released ({created['name']})"


def _threshold(display: str, filter_: str, aligner: str, reducer: str, threshold: float, **extra: Any) -> dict:
    condition: dict[str, Any] = {
        "filter": filter_,
        "aggregations": [
            {"alignmentPeriod": "300s", "perSeriesAligner": aligner, "crossSeriesReducer": reducer, **extra}
        ],
        "comparison": "COMPARISON_GT",
        "thresholdValue": threshold,
        "duration": "0s",
        "trigger": {"count": 1},
    }
    return {"displayName": display, "conditionThreshold": condition}


def alert_policies(publish_metric: str, queue_metric: str, services: list[str]) -> list[dict[str, Any]]:
    """The four policies the original spec asks for, one condition each."""
    names = ",".join(json.dumps(service) for service in services)
    run = f'resource.type="cloud_run_revision" AND resource.label.service_name=one_of({names})'
    requests = f'metric.type="run.googleapis.com/request_count" AND {run}'
    error_rate = _threshold(
        "5xx over 5% of requests for 5 minutes",
        f'{requests} AND metric.label.response_code_class="5xx"',
        "ALIGN_RATE",
        "REDUCE_SUM",
        0.05,
    )
    error_rate["conditionThreshold"]["denominatorFilter"] = requests
    error_rate["conditionThreshold"]["denominatorAggregations"] = [
        {"alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_RATE", "crossSeriesReducer": "REDUCE_SUM"}
    ]
    error_rate["conditionThreshold"]["duration"] = "300s"
    latency = _threshold(
        "p95 latency over 1 s for 5 minutes",
        f'metric.type="run.googleapis.com/request_latencies" AND {run}',
        "ALIGN_PERCENTILE_95",
        "REDUCE_MAX",
        1000.0,  # the metric is in milliseconds
        groupByFields=["resource.label.service_name"],
    )
    latency["conditionThreshold"]["duration"] = "300s"
    counted = [
        ("publish failures", publish_metric, "a capture or a replay could not publish to Pub/Sub"),
        ("queue items failed", queue_metric, "a queued capture reached status failed after every retry"),
    ]
    policies = [
        (
            name,
            _threshold(
                f"{name} in 5 minutes",
                f'metric.type="logging.googleapis.com/user/{metric}" AND resource.type="cloud_run_revision"',
                "ALIGN_DELTA",
                "REDUCE_SUM",
                0.0,
            ),
            meaning,
        )
        for name, metric, meaning in counted
    ]
    policies.append(("5xx rate", error_rate, "more than 5% of the requests failed with a 5xx"))
    policies.append(("p95 latency", latency, "the 95th percentile of a function's latency exceeded 1 s"))
    return [
        {
            "displayName": ALERT_PREFIX + name,
            "combiner": "OR",
            "conditions": [condition],
            "documentation": {"content": f"{meaning}; see the README, Operations.", "mimeType": "text/markdown"},
        }
        for name, condition, meaning in policies
    ]


def ensure_alerts(api: Api, email: str, policies: list[dict[str, Any]]) -> list[str]:
    """The owner's e-mail channel and each policy, created when missing; one line per thing done."""
    done = []
    base = f"v3/projects/{api.project}"
    channels = (api.call("GET", f"{base}/notificationChannels", query={"filter": 'type="email"'}) or {}).get(
        "notificationChannels", []
    )
    channel = next((c["name"] for c in channels if c.get("labels", {}).get("email_address") == email), None)
    if channel is None:
        body = {"type": "email", "displayName": CHANNEL_NAME, "labels": {"email_address": email}}
        channel = api.call("POST", f"{base}/notificationChannels", body)["name"]
        done.append(f"created the e-mail channel for {email}")
    existing = {
        policy.get("displayName")
        for policy in (api.call("GET", f"{base}/alertPolicies") or {}).get("alertPolicies", [])
    }
    for policy in policies:
        if policy["displayName"] in existing:
            continue
        api.call("POST", f"{base}/alertPolicies", {**policy, "notificationChannels": [channel]})
        done.append(f"created the alert policy '{policy['displayName']}'")
    return done or ["alert policies unchanged"]


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; errors go to stderr with exit status 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rules = commands.add_parser("rules")
    rules.add_argument("--project", required=True)
    rules.add_argument("--file", required=True)
    rules.add_argument("--release", default="cloud.firestore")
    alerts = commands.add_parser("alerts")
    alerts.add_argument("--project", required=True)
    alerts.add_argument("--email", required=True)
    alerts.add_argument("--publish-metric", required=True)
    alerts.add_argument("--queue-metric", required=True)
    alerts.add_argument("--services", required=True, help="Cloud Run service names, space-separated")
    args = parser.parse_args(argv)
    token = sys.stdin.readline().strip()
    if not token:
        print("deploy_api: no access token on stdin (gcloud auth print-access-token)", file=sys.stderr)
        return 1
    try:
        if args.command == "rules":
            api = Api("firebaserules", "https://firebaserules.googleapis.com/", token, args.project)
            print(release_rules(api, args.release, args.file))
        else:
            api = Api("monitoring", "https://monitoring.googleapis.com/", token, args.project)
            policies = alert_policies(args.publish_metric, args.queue_metric, args.services.split())
            print("\n".join(ensure_alerts(api, args.email, policies)))
    except ApiError as error:
        print(f"deploy_api: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
