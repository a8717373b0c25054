"""Names of everything the deploy creates. The functions read the topic name from PUBSUB_TOPIC."""

from __future__ import annotations

TOPIC = "tweet-likes-raw"
TOPIC_RETENTION = "31d"
TOPIC_RETENTION_SECONDS = "2678400s"  # how the API reports 31d
TICK_TOPIC = "tweet-capture-retry-tick"
TICK_JOB = "tweet-capture-retry-tick"
TICK_SCHEDULE = "*/10 * * * *"
TICK_TIME_ZONE = "Etc/UTC"
SECRET = "tweet-capture-jwt-key"  # noqa: S105 - the secret's name, not its value
# The one-time code that lets the deploy create the owner's account (register's REGISTRATION_CODE).
REGISTRATION_SECRET = "registration-code"  # noqa: S105 - the secret's name, not its value
DATABASE = "(default)"
RUNTIME = "python313"
GCF_REPOSITORY = "gcf-artifacts"
# The functions that sign or verify tokens run as KEYED, which alone may read the secrets; health and
# retry-queue run as PLAIN. Builds run as BUILD, not the Compute Engine default account, which new
# projects (org policy iam.automaticIamGrantsForDefaultServiceAccounts) leave without a build's roles.
KEYED = "tweet-capture-fn"
PLAIN = "tweet-capture-ops"
BUILD = "tweet-capture-build"
RULES_FILE = "firestore.rules"
RULES_RELEASE = "cloud.firestore"


def account(name: str, project: str) -> str:
    """A service account's e-mail address."""
    return f"{name}@{project}.iam.gserviceaccount.com"


def keyed_account(project: str) -> str:
    """The account of the functions that hold the signing key (and the registration code)."""
    return account(KEYED, project)


def plain_account(project: str) -> str:
    """The account of health and retry-queue, which can read neither secret."""
    return account(PLAIN, project)


def build_account(project: str) -> str:
    """The account the builds run as."""
    return account(BUILD, project)


def topic_path(project: str, topic: str) -> str:
    """A topic's full resource name: gcloud resolves a bare name against its configured project."""
    return f"projects/{project}/topics/{topic}"
