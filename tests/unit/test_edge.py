"""The HTTP edge on bare requests: body reading, field loading, bearer tokens, methods and hostile headers.

Every endpoint reads its request through these few functions, so each hostile input is
tried here once; tests/functions/test_hostile_input.py checks that every endpoint is wired
to them.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import flask
import jwt
import pytest
from marshmallow import Schema, fields
from werkzeug.test import EnvironBuilder

from shared import errors
from shared.accounts import schemas as account_schemas
from shared.accounts import tokens
from shared.tweets import schemas as tweet_schemas
from shared.web.edge import authenticated_user, edge, json_response, load, read_json
from shared.web.endpoints import ENDPOINTS, MAX_BODY_BYTES
from tests.support import ABUSIVE_HEADERS, JWT_KEY, STRONG_PASSWORD, tweet_body, valid_body

LIMIT = MAX_BODY_BYTES  # the limit the reading tests pass; each endpoint checks its own (test_hostile_input)


def bare_request(
    raw: bytes | dict[str, Any] = b"",
    content_type: str | None = "application/json",
    method: str = "POST",
    environ: dict[str, Any] | None = None,
    **builder: Any,
) -> flask.Request:
    """A request as the WSGI server hands it over, with `environ` laid over what the builder made."""
    made = EnvironBuilder(method=method, data=raw, content_type=content_type, **builder).get_environ()
    made.update(environ or {})
    return flask.Request(made)


def status_of(request: flask.Request, max_bytes: int = LIMIT) -> int:
    """200 when read_json returns an object, otherwise the status of the error it raised."""
    try:
        assert isinstance(read_json(request, max_bytes), dict)
    except errors.ApiError as exc:
        return exc.status
    return 200


def serve(request: flask.Request, handler: Callable[[flask.Request], flask.Response], *methods: str) -> flask.Response:
    """The answer of `handler` behind the edge that takes `methods`."""
    return edge(*methods)(handler)(request)


def echo(request: flask.Request) -> flask.Response:
    """A handler that answers with the JSON object it read."""
    return json_response(read_json(request))


def whoami(request: flask.Request) -> flask.Response:
    """A handler that answers with the user of the request's access token."""
    return json_response({"user": authenticated_user(request)})


def access_token(user_id: str = "u1") -> str:
    """A valid access token."""
    return tokens.create_access_token(user_id, JWT_KEY, datetime.now(UTC), 3600)


# --- Bodies that are not a JSON object -------------------------------------------------------------

NOT_AN_OBJECT = {
    "empty": b"",
    "whitespace": b" \r\n\t ",
    "bad-json": b"{email: 'a@b.co'}",
    "truncated-object": b'{"email": "a@b.co", "password": "Corr',
    "truncated-string": b'{"email": "a@b.co',
    "trailing-garbage": b'{"email": "a@b.co"} x',
    "two-objects": b"{} {}",
    "trailing-comma": b'{"email": "a@b.co",}',
    "single-quotes": b"{'email': 'a@b.co'}",
    "comment": b'{"email": "a@b.co" /* hi */}',
    "list": b"[]",
    "list-of-object": b'[{"email": "a@b.co", "password": "Correct-Horse-9"}]',
    "string": b'"email"',
    "number": b"42",
    "float": b"-0.5e-3",
    "null": b"null",
    "true": b"true",
    "nan": b"NaN",
    "infinity": b"-Infinity",
    "nan-in-object": b'{"capturedAt": NaN}',
    "huge-integer": b'{"capturedAt": 1' + b"0" * 5000 + b"}",
    "deep-list": b"[" * 60_000,
    "deep-object": b'{"a":' * 10_000,
    "deep-closed-list": b"[" * 30_000 + b"]" * 30_000,
    "deep-in-field": b'{"email": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
    "invalid-utf8": b'{"email": "\xff\xfe@b.co", "password": "x"}',
    "overlong-utf8": b'{"email": "\xc0\xafa@b.co", "password": "x"}',
    "utf8-bom": b'\xef\xbb\xbf{"email": "a@b.co", "password": "x"}',
    "utf16": '{"email": "a@b.co", "password": "x"}'.encode("utf-16"),
    "latin1": '{"email": "é@b.co", "password": "x"}'.encode("latin-1"),
    "nul-byte-outside": b'{"email": "a@b.co"}\x00',
}
# Valid JSON escapes that are no Unicode character: refused as not UTF-8 text, anywhere in the body.
LONE_SURROGATES = {
    "email": b'{"email": "a\\ud800@b.co", "password": "Correct-Horse-9"}',
    "password": b'{"email": "a@b.co", "password": "Correct-Horse-9\\udfff"}',
    "refreshToken": b'{"refreshToken": "rt1.\\ud800"}',
    "tweetText": json.dumps(tweet_body(tweetText="x")).replace('"x"', '"\\udc00"').encode(),
    "key": b'{"\\ud800": 1, "email": "a@b.co", "password": "Correct-Horse-9", "refreshToken": "t"}',
    "reversed-pair": b'{"email": "\\udc00\\ud800@b.co", "password": "Correct-Horse-9"}',
}


@pytest.mark.parametrize(
    "raw", [*NOT_AN_OBJECT.values(), *LONE_SURROGATES.values()], ids=[*NOT_AN_OBJECT, *LONE_SURROGATES]
)
def test_a_body_that_is_not_a_json_object_is_a_400(raw: bytes) -> None:
    """Unparseable, truncated, non-object, too deep, non-UTF-8 or lone-surrogate bodies are a 400."""
    assert status_of(bare_request(raw)) == 400


def test_valid_unicode_and_an_escaped_surrogate_pair_are_read() -> None:
    """An escaped pair, NUL and direction marks inside strings are text: the object is read as sent."""
    raw = '{"tweetText": "\\ud83d\\ude00 before\\u0000after \u202e"}'.encode()
    assert read_json(bare_request(raw), LIMIT) == {"tweetText": "\U0001f600 before\u0000after \u202e"}


# --- Content types --------------------------------------------------------------------------------

NOT_JSON_TYPES = {
    "text-plain": "text/plain",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=xyz",
    "xml": "application/xml",
    "octet-stream": "application/octet-stream",
    "json-lookalike": "application/jsonp",
    "garbage": "%%%; ;;=",
    "none": None,
}
JSON_TYPES = [
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/problem+json",
    "application/vnd.x+json",
]


@pytest.mark.parametrize("content_type", NOT_JSON_TYPES.values(), ids=NOT_JSON_TYPES.keys())
def test_a_body_not_sent_as_json_is_a_415(content_type: str | None) -> None:
    """A JSON body under any other Content-Type, or none, is refused with 415."""
    assert status_of(bare_request(b'{"a": 1}', content_type)) == 415


def test_real_form_and_multipart_posts_are_a_415() -> None:
    """An HTML form post and a file upload are refused with 415, not parsed."""
    form = bare_request({"email": "a@b.co", "password": "x"}, content_type=None)
    upload = bare_request({"file": (io.BytesIO(b"{}"), "body.json")}, content_type=None)
    assert (status_of(form), status_of(upload)) == (415, 415)


@pytest.mark.parametrize("content_type", JSON_TYPES)
def test_json_media_types_and_parameters_are_accepted(content_type: str) -> None:
    """Case, a charset parameter and +json suffixes still count as JSON."""
    assert read_json(bare_request(b'{"a": 1}', content_type), LIMIT) == {"a": 1}


# --- Size limits and Content-Length lies ----------------------------------------------------------


def test_the_default_limit_is_64_kib() -> None:
    """Without a limit of its own, an endpoint reads at most 64 KiB."""
    assert MAX_BODY_BYTES == 64 * 1024
    over = bare_request(json.dumps({"padding": "x" * MAX_BODY_BYTES}).encode())
    under = bare_request(json.dumps({"padding": "x" * (MAX_BODY_BYTES - 100)}).encode())
    with pytest.raises(errors.PayloadTooLarge):
        read_json(over)
    assert read_json(under)["padding"]


@pytest.mark.parametrize(
    "raw", [json.dumps({"padding": "x" * LIMIT}).encode(), b"[" * (LIMIT + 1)], ids=["padded", "open"]
)
def test_a_body_over_the_limit_is_a_413(raw: bytes) -> None:
    """A declared body over the limit, padded or all `[`, is refused with 413 unread."""
    assert status_of(bare_request(raw)) == 413


def test_a_body_of_exactly_the_limit_is_read() -> None:
    """The limit is inclusive."""
    raw = json.dumps({"padding": ""}).encode()
    raw = raw[:-2] + b"x" * (LIMIT - len(raw)) + b'"}'
    assert len(raw) == LIMIT and status_of(bare_request(raw)) == 200


def test_a_streamed_body_over_the_limit_is_a_413() -> None:
    """A body without Content-Length (chunked) that runs past the limit is cut off with 413."""
    raw = json.dumps({"padding": "x" * LIMIT}).encode()
    streamed = bare_request(input_stream=io.BytesIO(raw), environ={"wsgi.input_terminated": True})
    assert status_of(streamed) == 413


@pytest.mark.parametrize("declared", [lambda n: n // 2, lambda n: 1, lambda n: 0], ids=["half", "one", "zero"])
def test_a_content_length_shorter_than_the_body_is_a_400(declared: Callable[[int], int]) -> None:
    """Only the declared bytes are read: a cut-off JSON body is a 400."""
    raw = json.dumps(tweet_body()).encode()
    request = bare_request(input_stream=io.BytesIO(raw), environ={"CONTENT_LENGTH": str(declared(len(raw)))})
    assert status_of(request) == 400


def test_a_content_length_longer_than_the_body_reads_what_came() -> None:
    """Like gunicorn, which ends the body where the client stopped: the complete JSON is read."""
    raw = json.dumps(tweet_body()).encode()
    environ = {"CONTENT_LENGTH": str(len(raw) + 100), "wsgi.input_terminated": True}
    assert read_json(bare_request(input_stream=io.BytesIO(raw), environ=environ), LIMIT) == json.loads(raw)


@pytest.mark.parametrize(("length", "status"), [("-1", 400), ("abc", 400), ("1e3", 400), (str(2**70), 413)])
def test_a_malformed_content_length_is_a_4xx(length: str, status: int) -> None:
    """A negative or non-numeric Content-Length is no body (400); an absurd one is a 413."""
    environ: dict[str, Any] = {"CONTENT_LENGTH": length}
    if status == 413:
        environ["wsgi.input_terminated"] = True  # the server, not the length, ends the body
    request = bare_request(input_stream=io.BytesIO(json.dumps(tweet_body()).encode()), environ=environ)
    assert status_of(request) == status


# --- Fields: every request schema an endpoint declares ----------------------------------------------

SCHEMAS: dict[str, type[Schema]] = {
    e.entry_point: getattr(account_schemas, e.request, None) or getattr(tweet_schemas, e.request)
    for e in ENDPOINTS
    if e.request and e.entry_point
}
BAD_VALUES = {
    "null": None,
    "number": 42,
    "float": 4.2,
    "true": True,
    "list": ["a@b.co"],
    "object": {"$gt": ""},
    "huge-string": "a" * 60_000,
    "empty": "",
}
# Values some fields legitimately take; null for optional fields and true for flags are found from the schema.
ALSO_VALID = {
    ("tweetText", "empty"),
    ("authorDisplayName", "empty"),
    ("capturedAt", "number"),
    # A batch is a list of anything: each item is checked on its own (tests/functions/test_capture_batch.py).
    ("tweets", "list"),
}


def _takes(field: fields.Field, name: str, value_name: str) -> bool:
    """Whether `field` (called `name`) legitimately takes the bad value called `value_name`."""
    if value_name == "null" and field.allow_none:
        return True
    if value_name == "true" and isinstance(field, fields.Boolean):
        return True
    return (name, value_name) in ALSO_VALID


def _field_cases() -> list[Any]:
    return [
        pytest.param(operation, name, value_name, id=f"{operation}-{name}-{value_name}")
        for operation, schema in SCHEMAS.items()
        for name, field in schema().load_fields.items()
        for value_name in BAD_VALUES
        if not _takes(field, name, value_name)
    ]


def test_every_request_schema_has_a_valid_body() -> None:
    """Every endpoint with a body has a sample in tests.support.valid_body, and the sample loads."""
    for operation, schema in SCHEMAS.items():
        load(schema(), valid_body(operation))


@pytest.mark.parametrize(("operation", "field", "value_name"), _field_cases())
def test_a_field_of_the_wrong_type_or_size_is_a_400_naming_it(operation: str, field: str, value_name: str) -> None:
    """Nulls, numbers, booleans, lists, objects, empty and 60 000-character strings are refused per field."""
    with pytest.raises(errors.ValidationFailed) as refused:
        load(SCHEMAS[operation](), {**valid_body(operation), field: BAD_VALUES[value_name]})
    assert refused.value.status == 400
    assert any(name == field or name.startswith(f"{field}.") for name in refused.value.errors or {})


@pytest.mark.parametrize("operation", SCHEMAS)
def test_an_object_of_nulls_or_of_deep_wrong_values_is_a_400(operation: str) -> None:
    """Every field null, or nested 900 deep where a string is due: refused, naming fields."""
    nulls = dict.fromkeys(valid_body(operation))
    deep = json.loads('{"x": ' + "[" * 900 + "]" * 900 + ', "email": {}, "refreshToken": [], "tweetId": 1}')
    for body in (nulls, deep):
        with pytest.raises(errors.BadRequest) as refused:
            load(SCHEMAS[operation](), body)
        assert refused.value.status == 400


UNICODE_EMAILS = {
    "rtl-mark": "user\u200f@example.com",
    "rtl-override": "\u202euser@example.com",
    "nul": "us\u0000er@example.com",
    "emoji": "\U0001f600@example.com",
    "newline": "user@example.com\nBcc: x@y.z",
    "space": "us er@example.com",
}


@pytest.mark.parametrize("email", UNICODE_EMAILS.values(), ids=UNICODE_EMAILS.keys())
@pytest.mark.parametrize("operation", ["register", "login"])
def test_an_email_with_unicode_tricks_is_refused(operation: str, email: str) -> None:
    """Direction marks, NUL, emoji, an injected header line and spaces do not make valid addresses."""
    with pytest.raises(errors.ValidationFailed) as refused:
        load(SCHEMAS[operation](), {"email": email, "password": STRONG_PASSWORD})
    assert "email" in (refused.value.errors or {})


# --- Bearer tokens ----------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "sub": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        "type": "access",
        "iss": "tweet-capture-api",
        "aud": "tweet-capture-api",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(claims: dict[str, Any], key: str = JWT_KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _bad_authorizations() -> dict[str, str | None]:
    with warnings.catch_warnings():
        # PyJWT warns that the test key is short for HS512; the server must refuse HS512 anyway.
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        hs512 = _signed(_claims(), algorithm="HS512")
    valid = access_token()
    past = datetime.now(UTC) - timedelta(hours=2)
    return {
        "none": None,
        "empty": "",
        "huge": "Bearer " + "a" * 20_000,
        "bearer-only": "Bearer",
        "bearer-space": "Bearer ",
        "basic": "Basic " + base64.b64encode(b"user:pass").decode(),
        "digest": 'Digest username="u", realm="r"',
        "token-without-scheme": valid,
        "two-words": f"Bearer {valid} extra",
        "bearer-bearer": f"Bearer Bearer {valid}",
        "garbage": "Bearer !!!not.a.jwt!!!",
        "three-dots": "Bearer ...",
        "alg-none": "Bearer " + _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims()) + ".",
        "alg-none-signed": "Bearer " + _b64({"alg": "none"}) + "." + _b64(_claims()) + "." + valid.split(".")[2],
        "hs512": "Bearer " + hs512,
        "wrong-key": "Bearer " + _signed(_claims(), key="another-key-" + "z" * 40),
        "expired": "Bearer " + tokens.create_access_token("u1", JWT_KEY, past, 60),
        "refresh-type": "Bearer " + _signed(_claims(type="refresh")),
        "no-sub": "Bearer " + _signed(_claims(sub=None)),
        "numeric-sub": "Bearer " + _signed(_claims(sub=12345)),
        "wrong-audience": "Bearer " + _signed(_claims(aud="someone-else")),
        "no-exp": "Bearer " + _signed(_claims(exp=None)),
        "header-json-garbage": "Bearer " + base64.urlsafe_b64encode(b"\xff\xfe").decode() + ".e30.sig",
        "refresh-token": "Bearer rt1." + "0" * 32 + ".secret",
        "latin1": "Bearer \xe9\xe8\xff",
        "mojibake-utf8": "Bearer " + "jeton-\u00e9".encode().decode("latin-1"),
        "control-chars": "Bearer \x01\x02\x7f",
        "tab-separated": f"Bearer\t{valid}",
    }


BAD_AUTHORIZATIONS = _bad_authorizations()


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATIONS.values(), ids=BAD_AUTHORIZATIONS.keys())
def test_a_bad_authorization_header_is_a_401_challenge(authorization: str | None) -> None:
    """Missing, oversized, non-Bearer, unsigned, mis-signed, expired or mistyped tokens: 401 with a challenge."""
    headers = {} if authorization is None else {"Authorization": authorization}
    response = serve(bare_request(b"{}", headers=headers), whoami, "POST")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="tweet-capture-api"')


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    """RFC 7235 schemes are case-insensitive: `bearer <token>` is accepted like `Bearer <token>`."""
    response = serve(bare_request(b"{}", headers={"Authorization": f"{scheme} {access_token('u7')}"}), whoami, "POST")
    assert response.status_code == 200 and response.get_json() == {"user": "u7"}


# --- Methods and hostile headers at the edge --------------------------------------------------------


@pytest.mark.parametrize(
    ("methods", "method"),
    [
        *((("POST",), m) for m in ["GET", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "PROPFIND", "FOO"]),
        *((("GET",), m) for m in ["POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND"]),
    ],
)
def test_a_wrong_method_is_a_405_with_allow(methods: tuple[str, ...], method: str) -> None:
    """Any method an endpoint does not take, standard or made up, is a 405 naming the allowed ones."""
    response = serve(bare_request(b"{}", method=method), echo, *methods)
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed == {*methods, "OPTIONS"} | ({"HEAD"} if "GET" in methods else set())


def test_header_abuse_is_answered() -> None:
    """Huge, repeated and non-ASCII headers still get an answer; the access log copes with them."""
    headers = ABUSIVE_HEADERS
    response = serve(bare_request(b'{"a": 1}', headers=headers), echo, "POST")
    assert response.status_code == 200 and response.get_json() == {"a": 1}


GET_EXTRAS = {
    "query-garbage": {"query_string": "a=%ZZ&b=\xff&" + "c=1&" * 2000},
    "json-body": {"raw": b'{"x": ' * 1000},
    "bad-trace": {"headers": {"X-Cloud-Trace-Context": "../../;o=9" * 50, "traceparent": "ff-" * 100}},
    "text-body": {"raw": b"\x00\xff" * 1000, "content_type": "text/plain"},
}


@pytest.mark.parametrize("extra", GET_EXTRAS.values(), ids=GET_EXTRAS.keys())
def test_get_endpoints_ignore_hostile_extras(extra: dict[str, Any]) -> None:
    """A GET answers whatever query, body or trace headers come along."""
    response = serve(bare_request(method="GET", **extra), lambda request: json_response({}), "GET")
    assert response.status_code == 200
