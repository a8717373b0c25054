"""The owner's account: a one-time registration code from Secret Manager, and the deploy registering the owner."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.conftest import OWNER, OWNER_PASSWORD, PROJECT, REGION, STANDARD_ARGS, DeployRun, FakeCloud
from tests.deploy.fake_gcloud import parse_dict_flag
from tests.deploy.fake_google_apis import WEAK_PASSWORD
from tools.deploy import owner
from tools.deploy.gcloud import Gcloud
from tools.deploy.settings import Settings

CODE_SECRET = "registration-code"
MakeCloud = Callable[..., FakeCloud]


def sha256(text: str) -> str:
    """Hex SHA-256 of a text, as the fake register records a password."""
    return hashlib.sha256(text.encode()).hexdigest()


def code_of(run: DeployRun) -> str:
    """The registration code the run left in Secret Manager (its only version)."""
    (version,) = run.state["secrets"][CODE_SECRET]["versions"]
    return str(version["data"])


def unregistered(state: dict[str, Any]) -> dict[str, Any]:
    """A deployed project's state before the owner registered (the code not spent)."""
    return {key: value for key, value in state.items() if key not in ("accounts", "spent_codes")}


def test_only_the_functions_that_register_get_the_pinned_code(first_run: DeployRun) -> None:
    """The register deploy binds REGISTRATION_CODE to registration-code version 1; no other function gets it."""
    for name, call in first_run.deploys().items():
        secrets = parse_dict_flag(call.flag("set-secrets") or "=")
        if name == "register":
            assert secrets["REGISTRATION_CODE"] == f"{CODE_SECRET}:1"
        else:
            assert "REGISTRATION_CODE" not in secrets, name


def test_the_code_is_created_once_through_stdin_and_never_shown(first_run: DeployRun, second_run: DeployRun) -> None:
    """The code (43 URL-safe characters) is created once via stdin, a rerun adds none, nothing shows it."""
    code = code_of(second_run)
    assert code == code_of(first_run)
    assert len(code) == 43
    (create,) = [call for call in first_run.calls if call.is_("secrets", "create", CODE_SECRET)]
    assert create.flag("data-file") == "-"
    assert create.stdin_sha256 == sha256(code)
    assert not [call for call in second_run.changes if call.is_("secrets")]
    for run in (first_run, second_run):
        assert not [call for call in run.calls if any(code in word for word in call.argv)]
        assert code not in run.stdout + run.stderr


def test_the_deploy_registers_the_owner_with_the_code(first_run: DeployRun) -> None:
    """After the deploys, one POST to register carries the owner's e-mail, the password and the code: 201."""
    (registration,) = first_run.registrations
    assert registration["function"] == "register"
    assert registration["body"] == {"email": OWNER, "registrationCode": code_of(first_run)}
    assert registration["password_sha256"] == sha256(OWNER_PASSWORD)
    assert first_run.state["accounts"] == {OWNER: sha256(OWNER_PASSWORD)}
    (access,) = [call for call in first_run.calls if call.is_("secrets", "versions", "access")]
    assert access.argv[3] == "1"
    assert access.flag("secret") == CODE_SECRET
    assert f"owner account created: {OWNER}" in first_run.stderr


def test_a_rerun_takes_the_403_as_an_existing_account(second_run: DeployRun) -> None:
    """On a rerun, register's 403 (the code is spent) means the account exists: said, and the run succeeds."""
    assert second_run.returncode == 0
    assert len(second_run.registrations) == 1
    assert "the owner's account already exists (the registration code is spent)" in second_run.stderr
    assert second_run.state["accounts"] == {OWNER: sha256(OWNER_PASSWORD)}


def test_the_password_is_in_no_gcloud_argument_input_or_output(
    first_run: DeployRun, second_run: DeployRun, first_cloud: FakeCloud
) -> None:
    """The owner's password reaches no gcloud argument or stdin, no output of the run, and no file of the project."""
    for run in (first_run, second_run):
        for call in run.calls:
            assert not any(OWNER_PASSWORD in word for word in call.argv)
            assert call.stdin_sha256 != sha256(OWNER_PASSWORD)
        assert OWNER_PASSWORD not in run.stdout + run.stderr
    assert OWNER_PASSWORD not in first_cloud.log_path.read_text() + first_cloud.state_path.read_text()


def test_single_url_registers_through_the_router(make_cloud: MakeCloud) -> None:
    """With --single-url the owner registers at the router's /api/auth/register."""
    run = make_cloud().run(*STANDARD_ARGS, "--single-url")
    assert run.returncode == 0, run.stderr
    (registration,) = run.registrations
    assert registration["function"] == "api"
    assert run.state["accounts"] == {OWNER: sha256(OWNER_PASSWORD)}


def test_dry_run_shows_the_registration_and_asks_nothing(make_cloud: MakeCloud) -> None:
    """--dry-run prints the register step without a password source, reads no code and registers nothing."""
    cloud = make_cloud()
    run = cloud.run(*STANDARD_ARGS, "--dry-run", env=cloud.env(TCA_PASSWORD=""))
    assert run.returncode == 0, run.stderr
    assert "+ register: POST https://register.example.invalid for owner@example.com" in run.stdout
    assert "# stdin: a new registration code, never shown" in run.stdout
    assert run.calls == []
    assert run.registrations == []
    assert "assword" not in run.stderr


def test_without_a_password_source_the_run_stops_before_any_change(make_cloud: MakeCloud) -> None:
    """No TCA_PASSWORD and no terminal: the run stops at once, naming the ways out."""
    cloud = make_cloud()
    run = cloud.run(*STANDARD_ARGS, env=cloud.env(TCA_PASSWORD=""))
    assert run.returncode == 1
    assert "set TCA_PASSWORD, run in a terminal to be asked, or pass --no-owner-account" in run.stderr
    assert run.calls == []


def test_no_owner_account_skips_the_step_and_register_stays_closed(make_cloud: MakeCloud) -> None:
    """--no-owner-account needs no password and registers nothing; register is still bound to the code."""
    cloud = make_cloud()
    run = cloud.run(*STANDARD_ARGS, "--no-owner-account", env=cloud.env(TCA_PASSWORD=""))
    assert run.returncode == 0, run.stderr
    assert run.registrations == []
    assert "--no-owner-account: the owner's account is not created by this run" in run.stderr
    assert "REGISTRATION_CODE" in parse_dict_flag(run.deploys()["register"].flag("set-secrets") or "=")


def test_a_weak_password_from_the_environment_stops_with_the_servers_words(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """A TCA_PASSWORD that register refuses (400) ends the run with what the server said; the code stays unspent."""
    cloud = make_cloud(unregistered(deployed_project))
    run = cloud.run(*STANDARD_ARGS, env=cloud.env(TCA_PASSWORD="weakweak"))
    assert run.returncode == 1
    assert f"register answered 400: The request body has invalid fields. password: {WEAK_PASSWORD}" in run.stderr
    assert "accounts" not in run.state


def test_a_function_not_yet_public_is_tried_again(make_cloud: MakeCloud, deployed_project: dict[str, Any]) -> None:
    """Google's HTML 403 of a function whose public access is not in effect yet is retried, not taken for 'exists'."""
    cloud = make_cloud(unregistered(deployed_project) | {"register_not_public": 1})
    run = cloud.run(*STANDARD_ARGS)
    assert run.returncode == 0, run.stderr
    assert len(run.registrations) == 2
    assert 20.0 in run.sleeps
    assert run.state["accounts"] == {OWNER: sha256(OWNER_PASSWORD)}


def test_an_owner_at_the_terminal_is_asked_again_until_register_takes_the_password(
    make_cloud: MakeCloud, deployed_project: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Typed twice without echo: two different entries, then a weak password (400, said), then a good one (201)."""
    cloud = make_cloud(unregistered(deployed_project))
    for name, value in cloud.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TCA_PASSWORD")
    typed = iter(["Strong-passw0rd", "Strong-passw0rd-typo", "weakweak", "weakweak", OWNER_PASSWORD, OWNER_PASSWORD])
    prompts = []
    monkeypatch.setattr(owner.getpass, "getpass", lambda prompt: prompts.append(prompt) or next(typed))
    owner.ensure_owner_account(
        Gcloud(PROJECT), Settings(project=PROJECT, region=REGION, owner_email=OWNER), ["register"], "1"
    )
    assert next(typed, None) is None
    assert prompts[0] == f"Password for the owner's account ({OWNER}): "
    assert cloud.state["accounts"] == {OWNER: sha256(OWNER_PASSWORD)}
    said = capsys.readouterr().err
    assert "the two passwords differ" in said
    assert f"register refused the password: The request body has invalid fields. password: {WEAK_PASSWORD}" in said
    assert OWNER_PASSWORD not in said


def test_disabling_the_spent_code_lets_a_new_owner_email_register(
    make_cloud: MakeCloud, deployed_project: dict[str, Any]
) -> None:
    """With the spent version disabled, a run for a new e-mail adds a fresh code, pins it and registers that e-mail."""
    deployed_project["secrets"][CODE_SECRET]["versions"][0]["state"] = "DISABLED"
    cloud = make_cloud(deployed_project)
    run = cloud.run("--project", PROJECT, "--owner-email", "new@example.com")
    assert run.returncode == 0, run.stderr
    fresh = run.state["secrets"][CODE_SECRET]["versions"][1]["data"]
    assert parse_dict_flag(run.deploys()["register"].flag("set-secrets") or "=")["REGISTRATION_CODE"] == (
        f"{CODE_SECRET}:2"
    )
    assert run.registrations[0]["body"] == {"email": "new@example.com", "registrationCode": fresh}
    assert run.state["accounts"] == {OWNER: sha256(OWNER_PASSWORD), "new@example.com": sha256(OWNER_PASSWORD)}
