"""The human docs page at /api/docs: our HTML over Swagger UI, every byte served by the deployment.

Swagger UI's files come from the pinned `flask-swagger-ui` package (its `dist/`
folder is Swagger UI's own release), so the page works offline and runs no
third-party script; a strict Content-Security-Policy keeps it that way. Only the
`api` router's docs routes import this module.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

HERE = Path(__file__).parent
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
_OURS = ("init.js", "page.css")
_SWAGGER_UI = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


@functools.cache
def _swagger_ui_dir() -> Path:
    """Swagger UI's release folder inside the installed package, found without importing the package."""
    spec = importlib.util.find_spec("flask_swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("flask-swagger-ui is not installed (see requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "dist"


def page() -> bytes:
    """The docs page's HTML."""
    return (HERE / "index.html").read_bytes()


def asset(name: str) -> tuple[bytes, str] | None:
    """The bytes and content type of one of the page's assets; None for any other name."""
    if name in _OURS:
        path = HERE / name
    elif name in _SWAGGER_UI:
        path = _swagger_ui_dir() / name
    else:
        return None
    return path.read_bytes(), _CONTENT_TYPES[path.suffix]
