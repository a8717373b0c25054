"""The OpenAPI document: valid, complete, and in agreement with the validation it describes."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
from marshmallow import Schema, ValidationError
from openapi_spec_validator import validate

from functions.api import ROUTES
from shared import errors
from shared.accounts.auth import Grant
from shared.accounts.schemas import Credentials, LogoutRequest, RefreshRequest, Registration
from shared.tweets.capture import CaptureResult
from shared.tweets.schemas import TweetCapture
from shared.web import openapi
from shared.web.endpoints import BY_PATH
from tests.support import ROOT, STRONG_PASSWORD, tweet_body

REQUEST_SCHEMAS = {
    "/api/auth/register": Registration,
    "/api/auth/login": Credentials,
    "/api/auth/refresh": RefreshRequest,
    "/api/auth/logout": LogoutRequest,
    "/api/tweets/capture": TweetCapture,
}
JSON_BODY_ERRORS = {"400", "405", "413", "415", "500", "503"}


@pytest.fixture(name="document", scope="module")
def _document() -> dict[str, Any]:
    """The document as /api/openapi.json serves it."""
    return openapi.spec()


def _validator(document: dict[str, Any], component: str) -> jsonschema.Draft202012Validator:
    """A JSON Schema validator for one component, resolving $refs inside the document."""
    root = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _ecma_search(pattern: str, value: str) -> bool:
    """Whether an ECMA-262 pattern matches `value` (its `$` allows no newline before the end, unlike Python's)."""
    return re.search(re.sub(r"\$$", r"\\Z", pattern), value) is not None


def _property(document: dict[str, Any], schema: type[Schema], field: str) -> dict[str, Any]:
    return document["components"]["schemas"][schema.__name__]["properties"][field]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    """openapi-spec-validator accepts the document."""
    validate(document)
    assert document["openapi"].startswith("3.")


def test_the_document_is_built_once(document: dict[str, Any]) -> None:
    """Later requests get the cached document, not a rebuild."""
    assert openapi.spec() is document


def test_other_functions_never_import_apispec() -> None:
    """Importing every entry point leaves apispec (and this module) unloaded: it is built on request only."""
    code = "import sys, main; print('apispec' in sys.modules, 'shared.web.openapi' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_every_routed_path_is_described(document: dict[str, Any], path: str) -> None:
    """Each path the `api` router serves is in the document with the methods its function takes."""
    assert list(document["paths"][path]) == [m.lower() for m in BY_PATH[path].methods]
    assert list(document["paths"][path]) == [
        "get" if path in {"/api/health", "/api/openapi.json", "/api/tweets", "/api/queue"} else "post"
    ]


def test_the_documents_own_paths_are_described(document: dict[str, Any]) -> None:
    """/api/openapi.json and /api/docs are described too, and nothing else is."""
    assert set(document["paths"]) == {*ROUTES, "/api/openapi.json", "/api/docs"}
    docs = document["paths"]["/api/docs"]["get"]["responses"]["200"]["content"]
    assert list(docs) == ["text/html"]


@pytest.mark.parametrize(("path", "schema"), REQUEST_SCHEMAS.items())
def test_every_request_schema_field_appears(document: dict[str, Any], path: str, schema: type[Schema]) -> None:
    """The request body of each POST is its marshmallow schema, every field and every required flag."""
    body = document["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{schema.__name__}"}
    component = document["components"]["schemas"][schema.__name__]
    fields = schema().fields
    assert set(component["properties"]) == set(fields)
    assert set(component["required"]) == {name for name, field in fields.items() if field.required}


@pytest.mark.parametrize("path", sorted(REQUEST_SCHEMAS))
def test_json_endpoints_document_their_error_statuses(document: dict[str, Any], path: str) -> None:
    """Every body-taking endpoint documents 400, 405, 413, 415, 500 and 503 as problem JSON."""
    responses = document["paths"][path]["post"]["responses"]
    assert set(responses) >= JSON_BODY_ERRORS
    for status in JSON_BODY_ERRORS:
        ref = responses[status]["$ref"].rsplit("/", 1)[-1]
        assert list(document["components"]["responses"][ref]["content"]) == ["application/problem+json"]


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/api/auth/register", {"201", "403", "409", "429"}),
        ("/api/auth/login", {"200", "401", "403", "429"}),
        ("/api/auth/refresh", {"200", "401", "403", "429"}),
        ("/api/auth/logout", {"204", "429"}),
        ("/api/tweets/capture", {"200", "401", "429"}),
    ],
)
def test_each_endpoint_documents_its_own_statuses(document: dict[str, Any], path: str, statuses: set[str]) -> None:
    """Each endpoint documents its success code and its own errors (auth, conflicts, limits), and no others."""
    assert set(document["paths"][path]["post"]["responses"]) == statuses | JSON_BODY_ERRORS


def test_capture_is_bearer_protected_with_a_challenge(document: dict[str, Any]) -> None:
    """Capture requires the Bearer scheme; its 401 carries WWW-Authenticate and 429/503 carry Retry-After."""
    operation = document["paths"]["/api/tweets/capture"]["post"]
    scheme = operation["security"][0]
    assert document["components"]["securitySchemes"][next(iter(scheme))] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    responses = document["components"]["responses"]
    assert "WWW-Authenticate" in responses["BearerChallenge"]["headers"]
    assert "Retry-After" in responses["TooManyRequests"]["headers"]
    assert "Retry-After" in responses["ServiceUnavailable"]["headers"]
    assert "Allow" in responses["MethodNotAllowed"]["headers"]
    assert "security" not in document["paths"]["/api/auth/login"]["post"]


def test_health_documents_both_answers(document: dict[str, Any]) -> None:
    """GET /api/health: 200 and 503 share the health body; 503 adds Retry-After."""
    responses = document["paths"]["/api/health"]["get"]["responses"]
    assert set(responses) == {"200", "405", "500", "503"}
    assert "Retry-After" in responses["503"]["headers"]


@pytest.mark.parametrize(
    ("component", "body"),
    [
        ("TweetCapture", tweet_body()),
        ("Registration", {"email": "someone@example.com", "password": STRONG_PASSWORD}),
        ("Problem", errors.ValidationFailed({"email": ["Not a valid email address."]}).to_problem()),
        ("Problem", errors.TooManyRequests("slow down", 3).to_problem()),
        ("AuthGrant", Grant("u1", "a.b.c", 3600, refresh_token="rt1.x.y", email="a@b.co").to_json()),
        ("RefreshGrant", Grant("u1", "a.b.c", 3600).to_json()),
        ("RefreshGrant", Grant("u1", "a.b.c", 3600, refresh_token="rt1.x.y").to_json()),
        ("CapturePublished", CaptureResult("published", "1" * 19, "42").to_json()),
        ("CaptureQueued", CaptureResult("queued", "1" * 19).to_json()),
        ("CaptureDuplicate", CaptureResult("duplicate", "1" * 19).to_json()),
    ],
)
def test_real_bodies_match_their_documented_schemas(document: dict[str, Any], component: str, body: Any) -> None:
    """What the code sends and what the extension sends validate against the document."""
    _validator(document, component).validate(body)


# (schema, field, value): the documented pattern and the server must agree on each value.
PATTERN_SAMPLES = [
    (TweetCapture, "tweetId", "1858123456789012345"),
    (TweetCapture, "tweetId", "18581234567890123x5"),
    (TweetCapture, "tweetId", "1858123456789012345\n"),
    (TweetCapture, "tweetId", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦"),
    (TweetCapture, "threadId", "0"),
    (TweetCapture, "threadId", "12a"),
    (TweetCapture, "tweetUrl", "https://x.com/someone/status/1858123456789012345"),
    (TweetCapture, "tweetUrl", "HTTP://localhost:8080/a?b=c#d"),
    (TweetCapture, "tweetUrl", "http://a.b"),
    (TweetCapture, "tweetUrl", "http://x.com?"),
    (TweetCapture, "tweetUrl", "ftp://x.com/a"),
    (TweetCapture, "tweetUrl", "javascript:alert(1)"),
    (TweetCapture, "timestamp", "2025-11-19T10:30:00.000Z"),
    (TweetCapture, "timestamp", "2025-11-19T10:30:00+05:30"),
    (TweetCapture, "timestamp", "0000-01-01T00:00:00Z"),
    (TweetCapture, "timestamp", "2025-13-01T00:00:00Z"),
    (TweetCapture, "timestamp", "2025-01-01T23:59:60Z"),
    (TweetCapture, "timestamp", "2025-11-19"),
    (TweetCapture, "timestamp", "2025-11-19T10:30:00"),
    (TweetCapture, "timestamp", "2025-11-19T10:30Z"),
    (TweetCapture, "timestamp", "2025-11-19T10Z"),
    (TweetCapture, "timestamp", "2025-11-19 10:30"),
    (TweetCapture, "timestamp", "2025-11-19t10:30:00"),
    (TweetCapture, "timestamp", "2025-11-19T10:30:00.123456789Z"),
    (TweetCapture, "timestamp", "2025-11-19T10:30:00.1234567890Z"),
    (TweetCapture, "timestamp", "2025-11-19T10:30:00z"),
    (TweetCapture, "timestamp", "2025-11-19T24:00:00Z"),
    (TweetCapture, "timestamp", "2025-11-19T10:30:00+24:00"),
    (TweetCapture, "timestamp", "2025-02-31T00:00:00Z"),
    (TweetCapture, "timestamp", "2025-04-31"),
    (TweetCapture, "timestamp", "2024-02-29T00:00:00Z"),
    (TweetCapture, "timestamp", "2023-02-29"),
    (TweetCapture, "timestamp", "2000-02-29"),
    (TweetCapture, "timestamp", "1900-02-29"),
    (TweetCapture, "timestamp", "0001-01-01"),
    (TweetCapture, "timestamp", "20251119"),
    (TweetCapture, "timestamp", "2025-W47-3"),
    (TweetCapture, "timestamp", "2025-11-19T10:30:00.000Z\n"),
    (TweetCapture, "timestamp", "٢٠٢٥-11-19"),
    (TweetCapture, "tweetId", "20"),
    (TweetCapture, "tweetId", "0"),
    (TweetCapture, "tweetId", "9223372036854775807"),
    (TweetCapture, "tweetId", "9223372036854775808"),
    (TweetCapture, "tweetId", "12345678901234567890"),
    (TweetCapture, "tweetUrl", "http://127.0.0.1:8080/x"),
    (TweetCapture, "tweetUrl", "https://x.com"),
    (TweetCapture, "tweetUrl", "https://x.com/a b"),
    (TweetCapture, "tweetUrl", "https://x.com/café"),
    (TweetCapture, "tweetUrl", "https://-bad.com/"),
    (TweetCapture, "tweetUrl", "https://x.com/a\n"),
    (TweetCapture, "tweetUrl", "https://x.com/" + "a" * 2034),
    (TweetCapture, "tweetUrl", "https://x.com/" + "a" * 2035),
    (Registration, "password", STRONG_PASSWORD),
    (Registration, "password", "line\nBreak9"),
    (Registration, "password", "alllowercase1"),
    (Registration, "password", "NoDigitsHere"),
]


@pytest.mark.parametrize(("schema", "field", "value"), PATTERN_SAMPLES)
def test_documented_patterns_agree_with_the_server(
    document: dict[str, Any], schema: type[Schema], field: str, value: str
) -> None:
    """The published JSON Schema of a field and the server's own validation give every value the same verdict."""
    published = dict(_property(document, schema, field))
    pattern = published.pop("pattern")
    body = tweet_body() if schema is TweetCapture else {"email": "a@b.co", "password": STRONG_PASSWORD}
    try:
        schema().load({**body, field: value})
        accepted = True
    except ValidationError:
        accepted = False
    documented = _ecma_search(pattern, value) and jsonschema.Draft202012Validator(published).is_valid(value)
    assert documented == accepted


def test_the_password_rules_are_documented(document: dict[str, Any]) -> None:
    """Registration documents length, bcrypt's byte limit and the character classes; login does not."""
    registration = _property(document, Registration, "password")
    assert registration["minLength"] == 8 and registration["maxLength"] == 72
    assert "72 bytes" in registration["description"]
    assert "pattern" not in _property(document, Credentials, "password")


def test_only_the_docs_routes_load_the_docs_page() -> None:
    """Importing every entry point loads neither shared.web.docs nor Swagger UI's package; serving it never does."""
    code = (
        "import sys, main\n"
        "for name in main.__all__: getattr(main, name)\n"
        "print('shared.web.docs' in sys.modules)\n"
        "from shared.web import docs\n"
        "docs.page(); docs.asset('swagger-ui-bundle.js')\n"
        "print('flask_swagger_ui' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "False"]


def test_the_docs_page_loads_the_document_relatively() -> None:
    """The page fetches "openapi.json" relative to /api/docs (so it works under any prefix) and links to it."""
    from shared.web import docs

    assert 'url: "openapi.json"' in docs.asset("init.js")[0].decode()
    assert '<a href="openapi.json">' in docs.page().decode()
    assert "/api/openapi.json" not in docs.page().decode()


@pytest.mark.parametrize(("value", "accepted"), [(1763548200000, True), (1763548200000.0, True), (1.5, False)])
def test_captured_at_is_an_integer_as_json_schema_counts(value: float, accepted: bool) -> None:
    """`type: integer` admits 5.0 (JSON does not tell it from 5), so the server does too; 1.5 stays refused."""
    try:
        loaded = TweetCapture().load(tweet_body(capturedAt=value))
    except ValidationError:
        assert not accepted
    else:
        assert accepted and loaded["capturedAt"] == int(value) and isinstance(loaded["capturedAt"], int)
