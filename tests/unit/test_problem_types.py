"""Problem types: every error names a stable kind, listed in the OpenAPI document and explained by the router."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import shared
from shared import errors
from shared.web import openapi
from tests.support import function_client


def _every_error_class() -> list[type[errors.ApiError]]:
    """ApiError and every subclass defined anywhere in shared/ (each module imported first)."""
    for module in pkgutil.walk_packages(shared.__path__, "shared."):
        importlib.import_module(module.name)
    found, todo = [], [errors.ApiError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


ERROR_CLASSES = _every_error_class()
# The kinds CONTRACT.md lists, by status: one each.
CONTRACT_STATUSES = {400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 503}


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_class_maps_to_a_listed_type_of_its_status(cls: type[errors.ApiError]) -> None:
    """Each error class has a kind among the listed problem types, whose status is the class's own."""
    assert cls.kind in errors.PROBLEM_TYPES
    assert errors.PROBLEM_TYPES[cls.kind][0] == cls.status


def test_one_type_per_status_the_contract_lists() -> None:
    """Exactly one problem type per status the contract names: the same condition, the same type everywhere."""
    statuses = [status for status, _ in errors.PROBLEM_TYPES.values()]
    assert sorted(statuses) == sorted(CONTRACT_STATUSES)


def test_a_problem_body_carries_its_type_never_about_blank() -> None:
    """A problem body's `type` is the relative URI /problems/<kind>."""
    body = errors.TooManyRequests("slow down", 3).to_problem()
    assert body["type"] == "/problems/rate-limited"
    assert errors.ValidationFailed({"a": ["b"]}).to_problem()["type"] == "/problems/invalid-input"
    assert errors.ApiError("boom").to_problem()["type"] == "/problems/internal"


def test_the_openapi_document_lists_every_type() -> None:
    """The Problem schema's `type` enumerates every problem type, and its description names each one."""
    schema = openapi.spec()["components"]["schemas"]["Problem"]["properties"]["type"]
    listed = [errors.problem_type(kind) for kind in errors.PROBLEM_TYPES]
    assert schema["enum"] == listed
    assert all(uri in schema["description"] for uri in listed)


@pytest.mark.parametrize("kind", list(errors.PROBLEM_TYPES))
def test_each_type_uri_answers_with_its_explanation(kind: str) -> None:
    """GET /problems/<kind> on the `api` function answers a plain-text explanation of that kind."""
    response = function_client("api").get(errors.problem_type(kind))
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert text.startswith(f"{errors.problem_type(kind)} ({errors.PROBLEM_TYPES[kind][0]})")
    assert errors.PROBLEM_TYPES[kind][1] in text


def test_the_index_lists_every_type_and_an_unknown_one_is_not_found() -> None:
    """GET /problems/ lists every type; an unknown kind is a 404 whose own type is not-found."""
    client = function_client("api")
    index = client.get("/problems/").get_data(as_text=True)
    assert all(errors.problem_type(kind) in index for kind in errors.PROBLEM_TYPES)
    missing = client.get("/problems/no-such-kind")
    assert missing.status_code == 404
    assert missing.get_json()["type"] == "/problems/not-found"
