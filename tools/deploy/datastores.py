"""Firestore: the database (Native mode), TTL policies, composite indexes and daily backups."""

from __future__ import annotations

from tools.deploy.gcloud import Failed, Gcloud
from tools.deploy.names import DATABASE
from tools.deploy.settings import Settings

DB = f"--database={DATABASE}"
# Expired sessions and rate-limit windows are deleted by Firestore itself.
TTLS = (("sessions", "expiresAt"), ("rateLimits", "expireAt"))
# Composite indexes (all ascending) of the queries that need one:
#   queue:  status IN [...] AND nextAttemptAt <= now ORDER BY nextAttemptAt (the retry replay)
#   queue:  userId == me [AND status == S] ORDER BY createdAt (the owner's queue view)
#   tweets: userId == me ORDER BY createdAt, captureOrder (a user's captures, oldest first, a batch in order;
#           republish adds createdAt >= since)
INDEXES = (
    ("queue", ("status", "nextAttemptAt")),
    ("queue", ("userId", "createdAt")),
    ("queue", ("userId", "status", "createdAt")),
    ("tweets", ("userId", "createdAt", "captureOrder")),
)
# Daily backups kept a week (https://cloud.google.com/firestore/docs/backups).
BACKUP_RECURRENCE = "daily"
BACKUP_RETENTION = "7d"
BACKUP_RETENTION_SECONDS = "604800s"


def ensure_database(gcloud: Gcloud, settings: Settings) -> None:
    """The (default) database in Native mode: the client library the functions use cannot talk to Datastore mode."""
    kind = gcloud.query("firestore", "databases", "describe", DB, "--format=value(type)")
    if kind is None:
        gcloud.change("firestore", "databases", "create", DB, f"--location={settings.firestore_location}",
                      "--type=firestore-native")  # fmt: skip
    elif kind != "FIRESTORE_NATIVE":
        raise Failed(
            f"the {DATABASE} Firestore database of {settings.project} is in {kind or 'an unknown'} mode, but the "
            "functions need Native mode.\nAn empty database can be switched to Native mode in the Cloud console "
            "(Firestore); one with data cannot."
        )


def ensure_ttl_policies(gcloud: Gcloud) -> None:
    """TTL on sessions.expiresAt and rateLimits.expireAt: ACTIVE, or CREATING after a previous run, stays."""
    listing = gcloud.query("firestore", "fields", "ttls", "list", DB, "--format=value(name,ttlConfig.state)") or ""
    for group, field in TTLS:
        suffix = f"/collectionGroups/{group}/fields/{field}"
        if any(name.endswith(suffix) and state in ("ACTIVE", "CREATING")
               for name, _, state in (line.partition("\t") for line in listing.splitlines())):  # fmt: skip
            continue
        # --async: the policy becomes active in the background. ABORTED contention is retried (gcloud.CONTENTION).
        gcloud.change("firestore", "fields", "ttls", "update", field, f"--collection-group={group}", DB,
                      "--enable-ttl", "--async")  # fmt: skip


def ensure_indexes(gcloud: Gcloud) -> None:
    """Each composite index unless one with the same fields (Firestore appends __name__) exists."""
    listing = gcloud.query("firestore", "indexes", "composite", "list", DB,
                           "--format=value(name,queryScope,fields[].fieldPath,fields[].order)") or ""  # fmt: skip
    existing = set()
    for line in listing.splitlines():
        name, scope, paths, orders = ([*line.split("\t"), "", "", ""])[:4]
        group = name.split("/collectionGroups/")[-1].split("/")[0]
        fields = tuple(path for path in paths.split(";") if path != "__name__")
        if scope == "COLLECTION" and set(orders.split(";")) == {"ASCENDING"}:
            existing.add((group, fields))
    for group, fields in INDEXES:
        if (group, fields) in existing:
            continue
        configs = [f"--field-config=field-path={field},order=ascending" for field in fields]
        # --async: building takes minutes; until then the query fails and its caller retries.
        gcloud.change("firestore", "indexes", "composite", "create", f"--collection-group={group}",
                      "--query-scope=collection", *configs, DB, "--async")  # fmt: skip


def ensure_backups(gcloud: Gcloud, settings: Settings) -> None:
    """A daily backup schedule kept 7 days, unless one exists (or --no-backups)."""
    if settings.no_backups:
        return
    schedules = gcloud.query("firestore", "backups", "schedules", "list", DB,
                             "--format=value(name)")  # fmt: skip
    if schedules:
        return
    gcloud.change("firestore", "backups", "schedules", "create", DB, f"--recurrence={BACKUP_RECURRENCE}",
                  f"--retention={BACKUP_RETENTION}")  # fmt: skip
