"""The `api` router and every function's method check: paths, methods, HEAD, trailing slashes."""

from __future__ import annotations

import pytest

from shared.web.endpoints import Endpoint
from tests.support import HTTP_ENDPOINTS, assert_problem, endpoint_id, function_client, ways_in

PROBLEM = "application/problem+json"

# --- Methods and paths -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", HTTP_ENDPOINTS, ids=endpoint_id)
def test_a_wrong_method_is_a_405_with_allow(endpoint: Endpoint) -> None:
    """A method the endpoint does not declare is a 405 naming exactly the declared ones, both ways in.

    HEAD goes with GET; on a POST endpoint it is the same 405 with the body stripped.
    Every other method, standard or made up, meets the same check (tests/unit/test_edge.py).
    """
    allowed = {*endpoint.methods, "OPTIONS"} | ({"HEAD"} if "GET" in endpoint.methods else set())
    wrong = ["PUT", "FOO", "GET" if "GET" not in endpoint.methods else "POST"]
    for target, path in ways_in(endpoint):
        for method in wrong:
            response = function_client(target).open(path, method=method, data=b"{}", content_type="application/json")
            assert_problem(response, 405)
            assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed, (target, method)
        if "GET" not in endpoint.methods:
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
