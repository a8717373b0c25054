"""IAM: the functions' two accounts and the builds' account, each with only what it uses, and the wait for grants.

KEYED (the token functions) and PLAIN (health, retry-queue) both use Firestore
(project-wide: Firestore has no finer IAM) and publish to the one topic; only
KEYED may read the signing key (granted in secret.py). Grants take effect
eventually ("usually within 2 minutes, up to 7 or more", IAM's access-change
propagation); the first build then fails on the repository or the source bucket,
so after the first grants the run polls until they are visible and retries the
propagation messages (gcloud.PROPAGATION).
"""

from __future__ import annotations

from tools.deploy import names
from tools.deploy.gcloud import Gcloud, pause, say
from tools.deploy.settings import Settings

# Polling a policy for a grant just made: seconds between reads, about 2 minutes in all.
GRANT_POLL_SECONDS = (5, 10, 15, 30, 30, 30)


def has_role(gcloud: Gcloud, member: str, role: str, *policy: str) -> bool:
    """Whether MEMBER holds ROLE in the IAM policy the get-iam-policy command (without flags) returns."""
    answer = gcloud.query(*policy, "--flatten=bindings[].members", "--format=value(bindings.role,bindings.members)")
    return f"{role}\t{member}" in (answer or "").splitlines()


def grant(gcloud: Gcloud, member: str, role: str, group: tuple[str, ...], name: str, *flags: str) -> bool:
    """Grant ROLE to MEMBER on the resource GROUP NAME (e.g. ("pubsub", "topics"), T) unless it holds it.

    Whether a grant was made. Project bindings say --condition=None: many projects hold conditional ones.
    """
    if has_role(gcloud, member, role, *group, "get-iam-policy", name, *flags):
        return False
    extra = ("--condition=None",) if group == ("projects",) else ()
    gcloud.change(*group, "add-iam-policy-binding", name, *flags, f"--member={member}", f"--role={role}", *extra,
                  quiet=True)  # fmt: skip
    return True


Grant = tuple[str, str, tuple[str, ...], str, tuple[str, ...]]


def ensure_account(gcloud: Gcloud, name: str, display: str) -> str:
    """The service account NAME, created when missing; its member string."""
    email = names.account(name, gcloud.project)
    if gcloud.query("iam", "service-accounts", "describe", email, "--format=value(email)") is None:
        gcloud.change("iam", "service-accounts", "create", name, f"--display-name={display}")
    return f"serviceAccount:{email}"


def ensure_runtime_accounts(gcloud: Gcloud) -> list[Grant]:
    """Both runtime accounts with Firestore and the topic; the grants made (to wait for)."""
    wanted: list[Grant] = []
    for name, display in ((names.KEYED, "Tweet Capture API functions"),
                          (names.PLAIN, "Tweet Capture API health and retry queue (no key)")):  # fmt: skip
        member = ensure_account(gcloud, name, display)
        wanted.append((member, "roles/datastore.user", ("projects",), gcloud.project, ()))
        for role in ("roles/pubsub.publisher", "roles/pubsub.viewer"):
            wanted.append((member, role, ("pubsub", "topics"), names.TOPIC, ()))
    return [spec for spec in wanted if grant(gcloud, *spec[:4], *spec[4])]


def ensure_build_account(gcloud: Gcloud, region: str) -> list[Grant]:
    """The builds' account: write logs, read the uploaded source, push to gcf-artifacts only; the grants made.

    https://cloud.google.com/functions/docs/securing/build-custom-sa; the source buckets are
    created per region by Cloud Functions, hence storage.objectViewer project-wide.
    """
    member = ensure_account(gcloud, names.BUILD, "Tweet Capture API builds")
    wanted: list[Grant] = [
        (member, "roles/logging.logWriter", ("projects",), gcloud.project, ()),
        (member, "roles/storage.objectViewer", ("projects",), gcloud.project, ()),
        (member, "roles/artifactregistry.writer", ("artifacts", "repositories"), names.GCF_REPOSITORY,
         (f"--location={region}",)),
    ]  # fmt: skip
    return [spec for spec in wanted if grant(gcloud, *spec[:4], *spec[4])]


def wait_for_grants(gcloud: Gcloud, made: list[Grant]) -> None:
    """Poll each policy just changed until the grant reads back, bounded; the deploys retry what remains."""
    if gcloud.dry_run or not made:
        return
    say(f"Waiting for {len(made)} new IAM grant(s) to read back...")
    pending = list(made)
    for delay in (0, *GRANT_POLL_SECONDS):
        if delay:
            pause(delay)
        pending = [spec for spec in pending if not _visible(gcloud, spec)]
        if not pending:
            return
    say("  (some grants are not visible yet; the deploys retry until they are)")


def _visible(gcloud: Gcloud, spec: Grant) -> bool:
    member, role, group, name, flags = spec
    return has_role(gcloud, member, role, *group, "get-iam-policy", name, *flags)


def ensure_eventarc_agent(gcloud: Gcloud, number: str) -> None:
    """Create Eventarc's service identity before the first Pub/Sub-triggered deploy (it exists only once used)."""
    agent = f"serviceAccount:service-{number or 'PROJECT_NUMBER'}@gcp-sa-eventarc.iam.gserviceaccount.com"
    if has_role(gcloud, agent, "roles/eventarc.serviceAgent", "projects", "get-iam-policy", gcloud.project):
        return
    args = gcloud.with_project(["beta", "services", "identity", "create", "--service=eventarc.googleapis.com"])
    gcloud.show(args)
    if gcloud.dry_run:
        return
    # Without the beta component this fails; the deploy's own retry still covers the wait.
    ok, answer = gcloud.try_read(*args)
    if not ok:
        say(f"Note: could not create the Eventarc service identity ({answer[:160]}); "
            "the retry-queue deploy will wait for it.")  # fmt: skip


def ensure_retry_invoker(gcloud: Gcloud, settings: Settings) -> None:
    """Eventarc invokes retry-queue (a private service) as the account without the key."""
    member = f"serviceAccount:{names.plain_account(settings.project)}"
    grant(gcloud, member, "roles/run.invoker", ("run", "services"), "retry-queue", f"--region={settings.region}")
