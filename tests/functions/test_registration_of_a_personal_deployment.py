"""A personal deployment is closed from its first second.

Only the holder of the one-time code registers, once, and every refusal answers alike.
"""

from __future__ import annotations

from typing import Any

from devtools.emulators import free_port
from shared import clients
from tests.support import STRONG_PASSWORD, count_bcrypt_checks, function_client, new_email

CODE = "one-time-" + "c" * 32
REFUSED = "This deployment does not take this registration."


def _register(email: str, code: str | None = None) -> Any:
    body = {"email": email, "password": STRONG_PASSWORD}
    if code is not None:
        body["registrationCode"] = code
    return function_client("register").post("/", json=body)


def _count_hashes(monkeypatch: Any) -> list[int]:
    import bcrypt

    hashes: list[int] = []
    real_hashpw = bcrypt.hashpw
    monkeypatch.setattr(bcrypt, "hashpw", lambda password, salt: hashes.append(1) or real_hashpw(password, salt))
    return hashes


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
    owner = new_email()
    setenv(ALLOWED_EMAILS=owner)
    assert _register(owner).status_code == 201
    hashes = _count_hashes(monkeypatch)
    answers = {}
    for name, email in (("not allowed", new_email()), ("taken", owner)):
        hashes.clear()
        response = _register(email)
        answers[name] = (response.status_code, response.get_json())
        assert len(hashes) == 1, name
    assert answers["not allowed"] == answers["taken"]
    assert answers["taken"][0] == 403


def test_a_wrong_code_costs_neither_bcrypt_nor_firestore(setenv: Any, monkeypatch: Any) -> None:
    """With a code set, a wrong or missing code is a 403 with no bcrypt at all, answered with Firestore unreachable."""
    owner = new_email()
    setenv(REGISTRATION_CODE=CODE, ALLOWED_EMAILS=owner, FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{free_port()}")
    clients.reset()  # any Firestore call would now end in a 503
    hashes, checks = _count_hashes(monkeypatch), count_bcrypt_checks(monkeypatch)
    for email, code in ((owner, "wrong"), (owner, None), (new_email(), "wrong"), (owner, CODE[:-1])):
        response = _register(email, code)
        assert (response.status_code, response.get_json()["detail"]) == (403, REFUSED), (email, code)
    assert (len(hashes), len(checks)) == (0, 0)
    clients.reset()


def test_past_the_right_code_every_refusal_costs_one_hash(setenv: Any, monkeypatch: Any) -> None:
    """Right code: a spent code and an e-mail not allowed are the same 403 after one bcrypt hash each."""
    owner = new_email()
    setenv(REGISTRATION_CODE=CODE, ALLOWED_EMAILS=owner)
    assert _register(owner, CODE).status_code == 201
    hashes = _count_hashes(monkeypatch)
    answers = {}
    for name, email in (("spent, taken", owner), ("spent, not allowed", new_email())):
        hashes.clear()
        response = _register(email, CODE)
        answers[name] = (response.status_code, response.get_json())
        assert len(hashes) == 1, name
    assert answers["spent, taken"] == answers["spent, not allowed"]
    assert answers["spent, taken"][0] == 403


def test_without_a_code_or_list_registration_stays_open() -> None:
    """Local development: anyone registers, a taken e-mail is the spec's 409."""
    email = new_email()
    assert _register(email).status_code == 201
    assert _register(email).status_code == 409
