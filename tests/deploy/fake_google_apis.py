"""A loopback stand-in for the Google REST APIs deploy.sh calls directly, and for the deployed functions.

Serves the Firebase Rules API (releases, rulesets) and the Cloud Monitoring API
(notification channels, alert policies) the way Google does for the calls
tools/deploy makes, keeping their resources in the fake gcloud's state
file, so both fakes describe one project. It insists on the deployer's access
token and a quota project, as Google does for user credentials. Under /fn/NAME it
answers like a deployed function for the verification deploy.sh runs at the end:
health, the CORS preflight and a capture without a token (state key
`function_health` replaces the health body, e.g. to report a backend down;
`rules_api_disabled` makes that many Firebase Rules calls fail as a just-enabled API does).
register (/fn/register, /fn/api/api/auth/register) is closed as a deployed one is:
only the e-mails of the function's ALLOWED_EMAILS, only with the code of its
REGISTRATION_CODE binding, once; a weak password is a 400; every refusal the same
403. Accounts land in the state's `accounts` (e-mail -> the password's SHA-256),
each call in register-calls.jsonl with the password replaced by its SHA-256;
`register_not_public` answers that many calls with Google's HTML 403 first.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.deploy.fake_gcloud import Locked

HEALTHY = {"status": "healthy", "services": {"firestore": "connected", "pubsub": "connected"}}
REGISTER = re.compile(r"/fn/(register|api/api/auth/register)")
WEAK_PASSWORD = "Must contain an upper-case letter, a lower-case letter and a digit."
REFUSED = {"title": "Forbidden", "status": 403, "detail": "This deployment does not take this registration."}


class FakeGoogleApis:
    """The server, on 127.0.0.1, bound to one fake project's state file."""

    def __init__(self, state_path: Path, project: str, token: str) -> None:
        self.state_path = state_path
        self.log_path = state_path.with_name("api-calls.jsonl")
        self.log_path.touch()
        self.register_log_path = state_path.with_name("register-calls.jsonl")
        self.register_log_path.touch()
        self.project = project
        self.token = token
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The base URL, with a trailing slash as API endpoint overrides have."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

            def do_OPTIONS(self) -> None:
                self._serve("OPTIONS")

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                path = self.path.split("?", 1)[0]
                if method == "POST" and REGISTER.fullmatch(path):
                    self._send(*fake.register(path.split("/")[2], body))
                    return
                if path.startswith("/fn/"):
                    self._function(method, path)
                    return
                with Locked(str(fake.state_path)):
                    state = json.loads(fake.state_path.read_text())
                    headers = {"authorization": self.headers.get("Authorization") == f"Bearer {fake.token}"}
                    with open(fake.log_path, "a") as log:
                        log.write(json.dumps({"method": method, "path": path, "body": body, **headers}) + "\n")
                    if self.headers.get("Authorization") != f"Bearer {fake.token}":
                        status, answer = 401, _error(401, "Request had invalid authentication credentials.")
                    elif self.headers.get("X-Goog-User-Project") != fake.project:
                        status, answer = 403, _error(403, "End user credentials need a quota project.")
                    else:
                        status, answer = fake.answer(state, method, path, body)
                    fake.state_path.write_text(json.dumps(state, indent=1))
                self._send(status, answer)

            def _function(self, method: str, path: str) -> None:
                state = json.loads(fake.state_path.read_text())
                origin = self.headers.get("Origin", "")
                if path.endswith("/health") and method == "GET":
                    self._send(200, state.get("function_health", HEALTHY))
                elif path.endswith("/capture") and method == "OPTIONS":
                    self._send(
                        204,
                        None,
                        {
                            "Access-Control-Allow-Origin": origin,
                            "Access-Control-Allow-Methods": "POST, OPTIONS",
                            "Access-Control-Allow-Headers": "Authorization, Content-Type",
                        },
                    )
                elif path.endswith("/capture") and method == "POST":
                    problem = {"title": "Unauthorized", "status": 401, "detail": "A Bearer token is required."}
                    self._send(401, problem, {"Access-Control-Allow-Origin": origin}, "application/problem+json")
                else:
                    self._send(404, {"title": "Not Found", "status": 404})

            def _send(
                self, status: int, answer: Any, headers: dict[str, str] | None = None, kind: str = "application/json"
            ) -> None:
                if isinstance(answer, str):
                    data = answer.encode()
                else:
                    data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def register(self, name: str, body: dict[str, Any]) -> tuple[int, Any, dict[str, str], str]:
        """A register call to the deployed function NAME: (status, body, headers, content type)."""
        status, answer = self._register(name, body)
        kind = "text/html" if isinstance(answer, str) else "application/problem+json" if status >= 400 else None
        return status, answer, {}, kind or "application/json"

    def _register(self, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        email, password, code = (body.get(key) for key in ("email", "password", "registrationCode"))
        digest = hashlib.sha256(str(password).encode()).hexdigest()
        with Locked(str(self.state_path)):
            with open(self.register_log_path, "a") as log:
                logged = {key: value for key, value in body.items() if key != "password"}
                log.write(json.dumps({"function": name, "body": logged, "password_sha256": digest}) + "\n")
            state = json.loads(self.state_path.read_text())
            if state.get("register_not_public", 0) > 0:
                # Google's front end, before a new function's allUsers binding takes effect.
                state["register_not_public"] -= 1
                self.state_path.write_text(json.dumps(state, indent=1))
                return 403, "<html><title>403 Forbidden</title>Your client does not have permission</html>"
            if not all(re.search(rule, str(password)) for rule in ("^.{8,}$", "[A-Z]", "[a-z]", "[0-9]")):
                problem = {
                    "title": "Validation Failed",
                    "status": 400,
                    "detail": "The request body has invalid fields.",
                }
                return 400, problem | {"errors": {"password": [WEAK_PASSWORD]}}
            function = next(f for key, f in state["functions"].items() if key.endswith(f"/{name}"))
            secret, _, version = function["secrets"].get("REGISTRATION_CODE", "").partition(":")
            expected = state["secrets"][secret]["versions"][int(version) - 1]["data"] if secret else None
            allowed = function["env"].get("ALLOWED_EMAILS")
            accounts, spent = state.setdefault("accounts", {}), state.setdefault("spent_codes", [])
            closed = expected is not None or allowed is not None
            if (
                (allowed is not None and email not in allowed.split(","))
                or (expected is not None and (code != expected or code in spent))
                or (closed and email in accounts)
            ):
                return 403, REFUSED
            if email in accounts:
                return 409, {
                    "title": "Conflict",
                    "status": 409,
                    "detail": "An account with this e-mail already exists.",
                }
            accounts[email] = digest
            if expected is not None:
                spent.append(code)
            self.state_path.write_text(json.dumps(state, indent=1))
        return 201, {"accessToken": "fake", "refreshToken": "fake", "tokenType": "Bearer", "expiresIn": 900}

    def answer(self, state: dict[str, Any], method: str, path: str, body: Any) -> tuple[int, Any]:
        """Status and JSON body for one API call, applied to `state`."""
        if path.startswith("/v1/") and state.get("rules_api_disabled", 0) > 0:
            # Google's SERVICE_DISABLED text (see fake_gcloud.MESSAGES["api_disabled"] for its sources).
            state["rules_api_disabled"] -= 1
            number = state["projects"][self.project]
            return 403, _error(
                403,
                f"Firebase Rules API has not been used in project {number} before or it is disabled. Enable it by "
                f"visiting https://console.developers.google.com/apis/api/firebaserules.googleapis.com/overview"
                f"?project={number} then retry. If you enabled this API recently, wait a few minutes for the "
                "action to propagate to our systems and retry.",
            )
        rules = state.setdefault("rules", {"rulesets": {}, "releases": {}})
        monitoring = state.setdefault("monitoring", {"channels": [], "policies": []})
        prefix = f"/v1/projects/{self.project}"
        if path.startswith(f"{prefix}/releases/") and method == "GET":
            release = rules["releases"].get(path[4:])
            return (200, release) if release else (404, _error(404, "Release not found"))
        if path.startswith(f"{prefix}/rulesets/") and method == "GET":
            ruleset = rules["rulesets"].get(path[4:])
            return (200, ruleset) if ruleset else (404, _error(404, "Ruleset not found"))
        if path == f"{prefix}/rulesets" and method == "POST":
            name = f"projects/{self.project}/rulesets/ruleset-{len(rules['rulesets']) + 1}"
            rules["rulesets"][name] = {"name": name, "source": body["source"]}
            return 200, rules["rulesets"][name]
        if path == f"{prefix}/releases" and method == "POST":
            if body["name"] in rules["releases"]:
                return 409, _error(409, "Release already exists")
            rules["releases"][body["name"]] = body
            return 200, body
        if path.startswith(f"{prefix}/releases/") and method == "PATCH":
            release = body["release"]
            if release["name"] != path[4:] or release["name"] not in rules["releases"]:
                return 404, _error(404, "Release not found")
            rules["releases"][release["name"]] = release
            return 200, release
        v3 = f"/v3/projects/{self.project}"
        if path == f"{v3}/notificationChannels":
            if method == "GET":
                return 200, {"notificationChannels": monitoring["channels"]}
            number = len(monitoring["channels"]) + 1
            channel = {**body, "name": f"projects/{self.project}/notificationChannels/{number}"}
            monitoring["channels"].append(channel)
            return 200, channel
        if path == f"{v3}/alertPolicies":
            if method == "GET":
                return 200, {"alertPolicies": monitoring["policies"]}
            policy = {**body, "name": f"projects/{self.project}/alertPolicies/{len(monitoring['policies']) + 1}"}
            monitoring["policies"].append(policy)
            return 200, policy
        return 404, _error(404, f"fake: no {method} {path}")


def _error(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": "ERROR"}}
