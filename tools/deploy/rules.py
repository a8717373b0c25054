"""Firestore security rules: deny-all, released through the Firebase Rules API when the live ones differ.

Rules apply to the client SDKs and the REST API used with end-user credentials,
never to the server library the functions use (IAM governs that): with deny-all
rules no one else reads or writes a document. Live rules that are neither deny-all
nor the file (a reused Firebase project whose apps depend on them) are left alone
unless --force-rules.
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.deploy import names
from tools.deploy.gcloud import BACKOFF_SECONDS, PROPAGATION, Failed, Gcloud, pause, say
from tools.deploy.googleapi import Api, ApiError
from tools.deploy.settings import Settings

ALLOW = re.compile(r"\ballow\b[^:;]*:\s*if\s+([^;]+);")
COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


def denies_everything(content: str) -> bool:
    """Whether rules grant nothing: every `allow` is `if false` (or there is none)."""
    code = COMMENT.sub("", content)
    conditions = ALLOW.findall(code)
    return code.count("allow") == len(conditions) and all(condition.strip() == "false" for condition in conditions)


def ensure_security_rules(gcloud: Gcloud, settings: Settings) -> None:
    """Release the rules file unless the live release serves exactly it (retried while the API is just enabled)."""
    release = f"projects/{settings.project}/releases/{names.RULES_RELEASE}"
    gcloud.show_line(f"+ firebaserules: release {names.RULES_FILE} as {release} (when the live rules differ)")
    if gcloud.dry_run:
        return
    api = Api("firebaserules", "https://firebaserules.googleapis.com/", gcloud)
    delays = iter(BACKOFF_SECONDS)
    while True:
        try:
            say(f"  {_release(api, release, Path(names.RULES_FILE), settings.force_rules)}")
            return
        except ApiError as error:
            delay = next(delays, None)
            if delay is None or not PROPAGATION.search(str(error)):
                raise Failed(f"could not release {names.RULES_FILE}: {error}") from None
            say(f"  (the Firebase Rules API was enabled a moment ago; retrying in {delay} s)")
            pause(delay)


def _release(api: Api, release: str, path: Path, force: bool) -> str:
    content = path.read_text(encoding="utf-8")
    live = api.call("GET", f"v1/{release}")
    if live is not None:
        ruleset = api.call("GET", f"v1/{live['rulesetName']}") or {}
        live_files = [entry.get("content", "") for entry in ruleset.get("source", {}).get("files", [])]
        if live_files == [content]:
            return f"security rules unchanged ({live['rulesetName']})"
        if not force and not (live_files and all(denies_everything(text) for text in live_files)):
            raise Failed(
                f"the live Firestore security rules ({live['rulesetName']}) are neither deny-all nor "
                f"{path.name}: something else (a Firebase app?) may depend on them. Nothing was released. Check them "
                "in the Firebase console (Firestore, Rules); to replace them with the deny-all rules anyway, run "
                "./deploy.sh again with --force-rules."
            )
    created = api.call(
        "POST", f"v1/projects/{api.project}/rulesets", {"source": {"files": [{"name": path.name, "content": content}]}}
    )
    new = {"name": release, "rulesetName": created["name"]}
    if live is None:
        api.call("POST", f"v1/projects/{api.project}/releases", new)
    else:
        api.call("PATCH", f"v1/{release}", {"release": new})
    return f"security rules released ({created['name']})"
