"""The OpenAPI document, generated from the marshmallow schemas (filled in by the docs work)."""

DOCS_PAGE = "<!doctype html><title>Tweet Capture API</title><p>See <a href=openapi.json>openapi.json</a>."


def spec() -> dict:
    """The OpenAPI 3 document of the API."""
    return {"openapi": "3.0.3", "info": {"title": "Tweet Capture API", "version": "1.0.0"}, "paths": {}}
