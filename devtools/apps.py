"""Entry points of main.py served in this process, through functions-framework's test client."""

from __future__ import annotations

import functools

import flask
import functions_framework
from flask.testing import FlaskClient

from devtools.server import ROOT


@functools.cache
def _app(target: str) -> flask.Flask:
    """The app functions-framework builds for an entry point (building it re-reads main.py, so once)."""
    return functions_framework.create_app(target, str(ROOT / "main.py"))


def function_client(target: str) -> FlaskClient:
    """A test client for an entry point of main.py, served the way functions-framework serves it."""
    return _app(target).test_client()
