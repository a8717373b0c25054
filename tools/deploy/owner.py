"""The owner's account: created by the deploy itself, through the deployed register, with the one-time code.

A deployment is closed from its first second: register takes only the owner's
e-mail (ALLOWED_EMAILS) and only with the registration code (REGISTRATION_CODE,
from Secret Manager), which the first registration spends. The deploy reads the
code (never shown), takes the owner's password from TCA_PASSWORD or asks it
(never an argument, a file or an output) and registers the owner; on a later run
register's 403 means the account exists.
"""

from __future__ import annotations

import getpass
import json
import os
import sys

from tools.deploy import functions, names, verify
from tools.deploy.gcloud import Failed, Gcloud, pause, say
from tools.deploy.settings import Settings

PASSWORD_VARIABLE = "TCA_PASSWORD"  # noqa: S105 - the variable's name, not a password (the archive tool's too)


def registering(chosen: list[str]) -> str | None:
    """The function of this run that serves register; None when the run deploys none."""
    return next((name for name in chosen if functions.registers(name)), None)


def check_password_source(settings: Settings, chosen: list[str]) -> None:
    """Stop before any change when the owner's password will be needed but can be neither read nor asked."""
    if settings.dry_run or settings.no_owner_account or registering(chosen) is None:
        return
    if not os.environ.get(PASSWORD_VARIABLE) and not sys.stdin.isatty():
        raise Failed(
            f"no password for the owner's account: set {PASSWORD_VARIABLE}, run in a terminal to be asked, "
            "or pass --no-owner-account"
        )


def ensure_owner_account(gcloud: Gcloud, settings: Settings, chosen: list[str], version: str) -> None:
    """Register the owner with the registration code (version VERSION); an existing account is left alone."""
    name = registering(chosen)
    if name is None:
        return
    if settings.no_owner_account:
        say("Note: --no-owner-account: the owner's account is not created by this run.")
        return
    url = verify.function_url(gcloud, settings, name)
    if name == functions.ROUTER:
        url += str(functions.PATHS["register"])
    gcloud.show_line(f"+ register: POST {url} for {settings.owner_email}, the password ({PASSWORD_VARIABLE} or "
                     f"asked) and the registration code ({names.REGISTRATION_SECRET} version {version})")  # fmt: skip
    if gcloud.dry_run:
        return
    code = gcloud.query("secrets", "versions", "access", version, f"--secret={names.REGISTRATION_SECRET}")
    if not code:
        raise Failed(f"could not read version {version} of the secret {names.REGISTRATION_SECRET}")
    given = os.environ.get(PASSWORD_VARIABLE)
    while True:
        status, detail, fields = register(url, settings.owner_email, given or ask_password(settings.owner_email), code)
        if status == 201:
            say(f"  owner account created: {settings.owner_email}")
            return
        if status == 403:
            say("  the owner's account already exists (the registration code is spent); for another "
                "--owner-email see docs/deployment.md, 'The owner's account'")  # fmt: skip
            return
        if status == 400 and fields == {"password"} and not given:
            say(f"  register refused the password: {detail}")
            continue
        raise Failed(f"register answered {status:03d}: {detail}")


def ask_password(email: str) -> str:
    """The owner's password, typed twice without echo."""
    while True:
        try:
            password = getpass.getpass(f"Password for the owner's account ({email}): ")
            again = getpass.getpass("The same password again: ")
        except EOFError:
            raise Failed("no password for the owner's account was typed") from None
        if password and password == again:
            return password
        say("  the two passwords differ (or are empty); once more")


def register(url: str, email: str, password: str, code: str) -> tuple[int, str, set[str]]:
    """POST the registration; (status, what the answer says, the fields a 400 names).

    An answer that is not the function's own (no JSON: a front end's page while a new function
    becomes public, a network error) or a 5xx is tried again, like the verification's passes.
    """
    body = json.dumps({"email": email, "password": password, "registrationCode": code}).encode()
    status, text = 0, ""
    for attempt in range(verify.PASSES):
        if attempt:
            pause(verify.PASS_DELAY)
        status, headers, text = verify.fetch(url, "POST", {"Content-Type": "application/json"}, body)
        if 0 < status < 500 and "json" in headers.get("content-type", ""):
            break
    try:
        problem = json.loads(text)
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        return status, text.strip()[:200], set()
    errors = problem.get("errors") if isinstance(problem.get("errors"), dict) else {}
    said = [str(problem.get("detail") or problem.get("title") or "")]
    said += [f"{field}: {' '.join(map(str, messages))}" for field, messages in errors.items()]
    return status, " ".join(said).strip(), set(errors)
