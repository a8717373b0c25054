"""Pub/Sub topics and the Cloud Scheduler tick that makes retry-queue replay the queue every 10 minutes.

The job's target is always the full path projects/P/topics/T: gcloud resolves a bare
--topic against its *configured* project while parsing, before --project applies.
"""

from __future__ import annotations

from tools.deploy import names
from tools.deploy.gcloud import Gcloud
from tools.deploy.settings import Settings


def ensure_topics(gcloud: Gcloud) -> None:
    """The capture topic (31 days' retention, so a late consumer can replay a month) and the tick topic."""
    retention = gcloud.query("pubsub", "topics", "describe", names.TOPIC, "--format=value(messageRetentionDuration)")
    flag = f"--message-retention-duration={names.TOPIC_RETENTION}"
    if retention is None:
        gcloud.change("pubsub", "topics", "create", names.TOPIC, flag)
    elif retention != names.TOPIC_RETENTION_SECONDS:
        gcloud.change("pubsub", "topics", "update", names.TOPIC, flag)
    if gcloud.query("pubsub", "topics", "describe", names.TICK_TOPIC, "--format=value(name)") is None:
        gcloud.change("pubsub", "topics", "create", names.TICK_TOPIC)


def expected_job(project: str) -> str:
    """The job's schedule, target topic and time zone, as `value(schedule,pubsubTarget.topicName,timeZone)` prints."""
    return "\t".join((names.TICK_SCHEDULE, names.topic_path(project, names.TICK_TOPIC), names.TICK_TIME_ZONE))


def describe_job(gcloud: Gcloud, region: str) -> str | None:
    """The job's schedule, topic and time zone (None when it does not exist)."""
    return gcloud.query("scheduler", "jobs", "describe", names.TICK_JOB, f"--location={region}",
                        "--format=value(schedule,pubsubTarget.topicName,timeZone)")  # fmt: skip


def ensure_tick_job(gcloud: Gcloud, settings: Settings) -> None:
    """Create the job, or update it when its schedule, target or time zone drifted; retry-queue ignores the body."""
    found = describe_job(gcloud, settings.region)
    if found == expected_job(settings.project):
        return
    flags = (f"--location={settings.region}", f"--schedule={names.TICK_SCHEDULE}",
             f"--time-zone={names.TICK_TIME_ZONE}", f"--topic={names.topic_path(settings.project, names.TICK_TOPIC)}",
             "--message-body=tick")  # fmt: skip
    if found is None:
        gcloud.change("scheduler", "jobs", "create", "pubsub", names.TICK_JOB, *flags,
                      "--description=Replays the Tweet Capture retry queue")  # fmt: skip
    else:
        gcloud.change("scheduler", "jobs", "update", "pubsub", names.TICK_JOB, *flags)
