"""The secrets: the JWT signing key and the registration code, each generated once, kept only in Secret Manager.

Only the keyed account may read them. Every function is pinned to the number of
a secret's newest ENABLED version, so a rotation reaches them all on the next
deploy, together. `versions/latest` will not do: it is "the most recently
created SecretVersion" (Secret Manager API), enabled or not. A secret without an
enabled version gets a new one: that is also how a spent registration code is
replaced (docs/deployment.md, "The owner's account").
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

from tools.deploy import names
from tools.deploy.gcloud import Failed, Gcloud
from tools.deploy.iam import grant


def new_key() -> bytes:
    """48 bytes from the OS's CSPRNG, base64 (64 characters, above the 32-byte minimum)."""
    return base64.b64encode(secrets.token_bytes(48))


def new_code() -> bytes:
    """A registration code: 32 bytes from the OS's CSPRNG, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32).encode()


# Each secret, the note its new value is shown with, and how a new value is made.
SECRETS: dict[str, tuple[str, Callable[[], bytes]]] = {
    names.SECRET: ("stdin: a new random key, never shown", new_key),
    names.REGISTRATION_SECRET: ("stdin: a new registration code, never shown", new_code),
}


def ensure_secrets(gcloud: Gcloud) -> dict[str, str]:
    """Every secret with an enabled version and the keyed account's access; the version number to pin, by secret."""
    return {secret: ensure_secret(gcloud, secret) for secret in SECRETS}


def ensure_secret(gcloud: Gcloud, secret: str) -> str:
    """The secret with an enabled version and the keyed account's access; the version number to pin."""
    note, new_value = SECRETS[secret]
    versions = None
    if gcloud.query("secrets", "describe", secret, "--format=value(name)") is None:
        gcloud.change("secrets", "create", secret, "--replication-policy=automatic", "--data-file=-",
                      note=note, stdin=new_value())  # fmt: skip
    else:
        versions = gcloud.query("secrets", "versions", "list", secret, "--format=value(name,state)") or ""
        if not _newest_enabled(versions):
            gcloud.change("secrets", "versions", "add", secret, "--data-file=-", note=note, stdin=new_value())
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
