"""The JWT signing key: generated once, kept only in Secret Manager, read only by the keyed account.

Every function is pinned to the number of the newest ENABLED version, so a rotation
reaches them all on the next deploy, together. `versions/latest` will not do: it is
"the most recently created SecretVersion" (Secret Manager API), enabled or not.
"""

from __future__ import annotations

import base64
import secrets

from tools.deploy import names
from tools.deploy.gcloud import Failed, Gcloud
from tools.deploy.iam import grant

NEW_KEY_NOTE = "stdin: a new random key, never shown"


def new_key() -> bytes:
    """48 bytes from the OS's CSPRNG, base64 (64 characters, above the 32-byte minimum)."""
    return base64.b64encode(secrets.token_bytes(48))


def ensure_jwt_secret(gcloud: Gcloud) -> str:
    """The secret with an enabled version and the keyed account's access; the version number to pin."""
    secret = names.SECRET
    versions = None
    if gcloud.query("secrets", "describe", secret, "--format=value(name)") is None:
        gcloud.change("secrets", "create", secret, "--replication-policy=automatic", "--data-file=-",
                      note=NEW_KEY_NOTE, stdin=new_key())  # fmt: skip
    else:
        versions = gcloud.query("secrets", "versions", "list", secret, "--format=value(name,state)") or ""
        if not _newest_enabled(versions):
            gcloud.change("secrets", "versions", "add", secret, "--data-file=-", note=NEW_KEY_NOTE, stdin=new_key())
            versions = None
    member = f"serviceAccount:{names.keyed_account(gcloud.project)}"
    grant(gcloud, member, "roles/secretmanager.secretAccessor", ("secrets",), secret)
    if gcloud.dry_run:
        return "1"
    if versions is None:
        versions = gcloud.query("secrets", "versions", "list", secret, "--format=value(name,state)") or ""
    number = _newest_enabled(versions)
    if number is None:
        raise Failed(f"the secret {secret} has no enabled version")
    return number


def _newest_enabled(listing: str) -> str | None:
    """The highest version number in state ENABLED of a `value(name,state)` listing."""
    enabled = [
        int(name.rsplit("/", 1)[-1])
        for name, _, state in (line.partition("\t") for line in listing.splitlines())
        if state == "ENABLED" and name.rsplit("/", 1)[-1].isdigit()
    ]
    return str(max(enabled)) if enabled else None
