"""The `api` router and every function's method check: paths, methods, HEAD, trailing slashes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import GET_ENDPOINTS, POST_ENDPOINTS, assert_problem, endpoint_ids, function_client

PROBLEM = "application/problem+json"

# --- Methods and paths -------------------------------------------------------------------------------

WRONG_FOR_POST = ["GET", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "PROPFIND", "FOO"]
WRONG_FOR_GET = ["POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND"]


def _method_cases() -> list[Any]:
    cases = []
    for endpoints, methods in ((POST_ENDPOINTS, WRONG_FOR_POST), (GET_ENDPOINTS, WRONG_FOR_GET)):
        for target, path in endpoints:
            cases.extend(pytest.param(target, path, m, id=f"{target}{path}-{m}") for m in methods)
    return cases


@pytest.mark.parametrize(("target", "path", "method"), _method_cases())
def test_a_wrong_method_is_a_405_with_allow(target: str, path: str, method: str) -> None:
    """Any method an endpoint does not take, standard or made up, is a 405 naming the allowed ones."""
    response = function_client(target).open(path, method=method, data=b"{}", content_type="application/json")
    assert_problem(response, 405)
    assert "OPTIONS" in response.headers["Allow"]


@pytest.mark.parametrize(("target", "path"), POST_ENDPOINTS, ids=endpoint_ids(POST_ENDPOINTS))
def test_head_on_a_post_endpoint_is_a_405_without_a_body(target: str, path: str) -> None:
    """HEAD gets the same status and headers as GET would, with the body stripped."""
    response = function_client(target).head(path)
    assert response.status_code == 405
    assert response.mimetype == PROBLEM and response.get_data() == b""


HOSTILE_PATHS = [
    "/api/nope",
    "/api/auth",
    "/api/auth/register/extra",
    "/api/auth/REGISTER",
    "/api/tweets/nope",
    "/api/tweets/capture/../../health/x",
    "/api/h%C3%A9alth",
    "/api/%00",
    "/api/" + "a" * 5000,
    "/api/%ZZ",
    "/",
    "/robots.txt",
    "/favicon.ico",
]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=[p[:40] for p in HOSTILE_PATHS])
def test_an_unknown_path_through_api_is_a_404(path: str, method: str) -> None:
    """The router answers any path it does not serve with a 4xx problem, whatever the method."""
    response = function_client("api").open(path, method=method, json={})
    if path in {"/robots.txt", "/favicon.ico"}:
        assert response.status_code == 404  # functions-framework's own answer, before our code
        return
    assert_problem(response, 404, 405)


@pytest.mark.parametrize("path", ["/api/health/", "/api/health//", "/api/openapi.json/"])
def test_trailing_slashes_reach_json_endpoints(path: str) -> None:
    """`/api/health/` is `/api/health`: a trailing slash does not change the route."""
    response = function_client("api").get(path)
    # Health may say 503 when a loaded machine slows a fresh client's first check past 1.5 s: routed all the same.
    ok = {200, 503} if path.startswith("/api/health") else {200}
    assert response.status_code in ok and response.mimetype == "application/json"
    assert ("services" in response.get_json()) == path.startswith("/api/health")


def test_the_docs_page_lives_at_one_url() -> None:
    """`/api/docs/` is a 404 pointing at /api/docs, whose relative link to openapi.json resolves."""
    problem = assert_problem(function_client("api").get("/api/docs/"), 404)
    assert "/api/docs" in problem["detail"]


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_api_paths_are_404_for_any_method(method: str) -> None:
    """The router answers an unknown path with 404 whatever the method, not 405."""
    response = function_client("api").open("/api/nothing-here", method=method)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_head_is_served_where_get_is() -> None:
    """HEAD on health is answered like GET, without a body; 405s for GET endpoints list HEAD."""
    assert function_client("health").head("/").status_code in {200, 503}
    response = function_client("health").post("/")
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD, OPTIONS"
