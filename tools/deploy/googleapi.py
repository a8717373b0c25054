"""Calls to the Google REST APIs that gcloud has no GA command for (Firebase Rules, Cloud Monitoring).

The access token comes from `gcloud auth print-access-token` and stays in memory:
never an argument, never printed. Base URLs follow gcloud's endpoint overrides
(CLOUDSDK_API_ENDPOINT_OVERRIDES_FIREBASERULES, ..._MONITORING).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from tools.deploy.gcloud import Failed, Gcloud

TIMEOUT_SECONDS = 30


class ApiError(Exception):
    """A Google API answered with an error (its status and message)."""


class Api:
    """One Google REST API, called with the deployer's access token on behalf of the project."""

    def __init__(self, name: str, default_base: str, gcloud: Gcloud) -> None:
        override = os.environ.get(f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{name.upper()}")
        self.base = (override or default_base).rstrip("/") + "/"
        self.project = gcloud.project
        ok, token = gcloud.try_read("auth", "print-access-token")
        if not ok or not token:
            raise Failed(f"could not get an access token from gcloud ({token})")
        self._token = token.strip()

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        """The decoded JSON answer; None for 404; ApiError for any other failure."""
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - https or a test's loopback
        request.add_header("Authorization", f"Bearer {self._token}")
        # User credentials need a quota project for these APIs: the project itself.
        request.add_header("X-Goog-User-Project", self.project)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise ApiError(f"{method} {path}: HTTP {error.code}: {_message(error.read())}") from None
        except OSError as error:
            raise ApiError(f"{method} {path}: {error}") from None
        return json.loads(text) if text else {}


def _message(raw: bytes) -> str:
    """Google's error message from an error body (the body itself if it is not the usual JSON)."""
    try:
        return str(json.loads(raw)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return raw.decode(errors="replace")[:500]
