"""A personal deployment is closed from its first second.

Only the holder of the one-time code registers, once, and every refusal answers alike.
"""

from __future__ import annotations

from typing import Any

from tests.support import STRONG_PASSWORD, count_bcrypt_checks, function_client, new_email

CODE = "one-time-" + "c" * 32


def _register(email: str, code: str | None = None) -> Any:
    body = {"email": email, "password": STRONG_PASSWORD}
    if code is not None:
        body["registrationCode"] = code
    return function_client("register").post("/", json=body)


def test_with_a_code_nobody_registers_without_it(setenv: Any) -> None:
    """REGISTRATION_CODE set: no code or a wrong code is a 403; the right code creates the account."""
    setenv(REGISTRATION_CODE=CODE)
    owner = new_email()
    assert _register(owner).status_code == 403
    assert _register(owner, "not-the-code").status_code == 403
    created = _register(owner, CODE)
    assert created.status_code == 201
    login = function_client("login").post("/", json={"email": owner, "password": STRONG_PASSWORD})
    assert login.status_code == 200  # the extension's login is unchanged


def test_the_code_is_spent_by_its_first_registration(setenv: Any) -> None:
    """A second registration with the same code, of any e-mail, is refused."""
    setenv(REGISTRATION_CODE=CODE)
    assert _register(new_email(), CODE).status_code == 201
    assert _register(new_email(), CODE).status_code == 403


def test_refused_and_taken_emails_answer_alike(setenv: Any, monkeypatch: Any) -> None:
    """With ALLOWED_EMAILS, a stranger's e-mail and the owner's taken one: same status, body, one bcrypt hash."""
    import bcrypt

    owner = new_email()
    setenv(ALLOWED_EMAILS=owner)
    assert _register(owner).status_code == 201
    hashes: list[int] = []
    real_hashpw = bcrypt.hashpw
    monkeypatch.setattr(bcrypt, "hashpw", lambda password, salt: hashes.append(1) or real_hashpw(password, salt))
    answers = {}
    for name, email in (("not allowed", new_email()), ("taken", owner)):
        hashes.clear()
        response = _register(email)
        answers[name] = (response.status_code, response.get_json())
        assert len(hashes) == 1, name
    assert answers["not allowed"] == answers["taken"]
    assert answers["taken"][0] == 403


def test_a_wrong_code_costs_a_bcrypt_hash_like_a_registration(setenv: Any, monkeypatch: Any) -> None:
    """With a code set, a refusal takes the one bcrypt hash a registration takes, and no bcrypt check."""
    setenv(REGISTRATION_CODE=CODE)
    checks = count_bcrypt_checks(monkeypatch)
    import bcrypt

    hashes: list[int] = []
    real_hashpw = bcrypt.hashpw
    monkeypatch.setattr(bcrypt, "hashpw", lambda password, salt: hashes.append(1) or real_hashpw(password, salt))
    assert _register(new_email(), "wrong").status_code == 403
    assert (len(hashes), len(checks)) == (1, 0)


def test_without_a_code_or_list_registration_stays_open() -> None:
    """Local development: anyone registers, a taken e-mail is the spec's 409."""
    email = new_email()
    assert _register(email).status_code == 201
    assert _register(email).status_code == 409
