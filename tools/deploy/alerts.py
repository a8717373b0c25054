"""Opt-in monitoring: log-based metrics and alert policies mailing the owner (--alerts), a budget (--budget-usd)."""

from __future__ import annotations

import json
from typing import Any

from tools.deploy.gcloud import Failed, Gcloud, say
from tools.deploy.googleapi import Api, ApiError
from tools.deploy.settings import Settings

PREFIX = "Tweet Capture API: "
CHANNEL_NAME = "Tweet Capture API owner"
BUDGET_NAME = "Tweet Capture API"
METRIC_PUBLISH_FAILURES = "tweet_capture_publish_failures"
METRIC_QUEUE_FAILED = "tweet_capture_queue_failed"
# Log-based counters for what the service logs; 5xx and latency come from Cloud Run's own request metrics.
LOG_METRICS = {
    METRIC_PUBLISH_FAILURES: 'resource.type="cloud_run_revision" AND jsonPayload.message:"publish failed"',
    METRIC_QUEUE_FAILED: 'resource.type="cloud_run_revision" AND jsonPayload.message="retry queue replayed" '
    "AND jsonPayload.failed>0",
}


def ensure_alerts(gcloud: Gcloud, settings: Settings, services: list[str]) -> None:
    """The two log-based metrics, the owner's e-mail channel and four policies, each created when missing."""
    if not settings.alerts:
        return
    for name, log_filter in LOG_METRICS.items():
        found = gcloud.query("logging", "metrics", "describe", name, "--format=value(filter)")
        if found is None:
            gcloud.change("logging", "metrics", "create", name, f"--log-filter={log_filter}",
                          "--description=Tweet Capture API: log entries matching this filter")  # fmt: skip
        elif found != log_filter:
            gcloud.change("logging", "metrics", "update", name, f"--log-filter={log_filter}")
    gcloud.show_line(f"+ monitoring: e-mail channel for {settings.owner_email} and alert policies "
                     f"'{PREFIX}…' (when missing)")  # fmt: skip
    if gcloud.dry_run:
        return
    api = Api("monitoring", "https://monitoring.googleapis.com/", gcloud)
    try:
        done = _ensure_policies(api, settings.owner_email, policies(services))
    except ApiError as error:
        raise Failed(f"could not create the alert policies: {error}") from None
    say(*(f"  {line}" for line in done))


def _threshold(display: str, filter_: str, aligner: str, reducer: str, threshold: float, **extra: Any) -> dict:
    aggregation = {"alignmentPeriod": "300s", "perSeriesAligner": aligner, "crossSeriesReducer": reducer, **extra}
    condition = {"filter": filter_, "aggregations": [aggregation], "comparison": "COMPARISON_GT",
                 "thresholdValue": threshold, "duration": "0s", "trigger": {"count": 1}}  # fmt: skip
    return {"displayName": display, "conditionThreshold": condition}


def policies(services: list[str]) -> list[dict[str, Any]]:
    """The four policies the service asks for, one condition each."""
    run = 'resource.type="cloud_run_revision" AND resource.label.service_name=one_of({})'.format(
        ",".join(json.dumps(service) for service in services)
    )
    requests = f'metric.type="run.googleapis.com/request_count" AND {run}'
    error_rate = _threshold(
        "5xx over 5% of requests for 5 minutes",
        f'{requests} AND metric.label.response_code_class="5xx"',
        "ALIGN_RATE",
        "REDUCE_SUM",
        0.05,
    )
    error_rate["conditionThreshold"] |= {
        "denominatorFilter": requests,
        "denominatorAggregations": [
            {"alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_RATE", "crossSeriesReducer": "REDUCE_SUM"}
        ],
        "duration": "300s",
    }
    latency = _threshold("p95 latency over 1 s for 5 minutes",
                         f'metric.type="run.googleapis.com/request_latencies" AND {run}', "ALIGN_PERCENTILE_95",
                         "REDUCE_MAX", 1000.0, groupByFields=["resource.label.service_name"])  # fmt: skip
    latency["conditionThreshold"]["duration"] = "300s"
    counted = [
        ("publish failures", METRIC_PUBLISH_FAILURES, "a capture or a replay could not publish to Pub/Sub"),
        ("queue items failed", METRIC_QUEUE_FAILED, "a queued capture reached status failed after every retry"),
    ]
    found = [
        (name, _threshold(f"{name} in 5 minutes",
                          f'metric.type="logging.googleapis.com/user/{metric}" AND resource.type="cloud_run_revision"',
                          "ALIGN_DELTA", "REDUCE_SUM", 0.0), meaning)
        for name, metric, meaning in counted
    ]  # fmt: skip
    found.append(("5xx rate", error_rate, "more than 5% of the requests failed with a 5xx"))
    found.append(("p95 latency", latency, "the 95th percentile of a function's latency exceeded 1 s"))
    return [
        {"displayName": PREFIX + name, "combiner": "OR", "conditions": [condition],
         "documentation": {"content": f"{meaning}; see the README, Operations.", "mimeType": "text/markdown"}}
        for name, condition, meaning in found
    ]  # fmt: skip


def _ensure_policies(api: Api, email: str, wanted: list[dict[str, Any]]) -> list[str]:
    done = []
    base = f"v3/projects/{api.project}"
    listed = api.call("GET", f"{base}/notificationChannels", query={"filter": 'type="email"'}) or {}
    channels = listed.get("notificationChannels", [])
    channel = next((c["name"] for c in channels if c.get("labels", {}).get("email_address") == email), None)
    if channel is None:
        body = {"type": "email", "displayName": CHANNEL_NAME, "labels": {"email_address": email}}
        channel = api.call("POST", f"{base}/notificationChannels", body)["name"]
        done.append(f"created the e-mail channel for {email}")
    existing = {p.get("displayName") for p in (api.call("GET", f"{base}/alertPolicies") or {}).get("alertPolicies", [])}
    for policy in wanted:
        if policy["displayName"] not in existing:
            api.call("POST", f"{base}/alertPolicies", {**policy, "notificationChannels": [channel]})
            done.append(f"created the alert policy '{policy['displayName']}'")
    return done or ["alert policies unchanged"]


def ensure_budget(gcloud: Gcloud, settings: Settings) -> None:
    """A monthly budget on the project's billing account; a note instead of a failure without access to it."""
    if not settings.budget_usd:
        return
    project, account = settings.project, "BILLING_ACCOUNT_ID"
    if not gcloud.dry_run:
        ok, answer = gcloud.try_read("billing", "projects", "describe", project, "--format=value(billingAccountName)")
        if not ok:
            say(f"Note: no budget created: cannot read the billing account of {project} ({answer[:160]}).")
            return
        account = answer.removeprefix("billingAccounts/")
        if not account:
            say(f"Note: no budget created: {project} has no billing account linked.")
            return
        ok, budgets = gcloud.try_read("billing", "budgets", "list", f"--billing-account={account}",
                                      "--format=value(displayName)")  # fmt: skip
        if not ok:
            say(f"Note: no budget created: no access to billing account {account} (a Billing Account Administrator "
                f"or Costs Manager can run ./deploy.sh --budget-usd {settings.budget_usd}).")  # fmt: skip
            return
        if f"{BUDGET_NAME} ({project})" in budgets.splitlines():
            return
    args = gcloud.with_project(["billing", "budgets", "create", f"--billing-account={account}",
                                f"--display-name={BUDGET_NAME} ({project})",
                                f"--budget-amount={settings.budget_usd}USD",
                                f"--filter-projects=projects/{project}", "--threshold-rule=percent=0.5",
                                "--threshold-rule=percent=0.9", "--threshold-rule=percent=1.0"])  # fmt: skip
    gcloud.show(args)
    if not gcloud.dry_run:
        ok, answer = gcloud.try_read(*args)
        if not ok:
            say(f"Note: no budget created: {answer}")
