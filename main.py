"""Entry points of Tweet Capture API, one per deployed function (see the README).

Each entry point is re-exported from its own module in `functions/`, imported on
first access (PEP 562): an instance started with `--target capture` loads only
functions.capture and what it needs, never the code of the other functions.
"""

import importlib
import os
from typing import Any

from shared.config import check_startup

_MODULES = {
    "api": "functions.api",
    "capture": "functions.capture",
    "health": "functions.health",
    "login": "functions.login",
    "logout": "functions.logout",
    "refresh": "functions.refresh",
    "register": "functions.register",
    "retry_queue": "functions.retry_queue",
}
__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    """The entry point `name`, importing its module on first use."""
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name]), name)
    raise AttributeError(f"module 'main' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), *__all__]


# Functions that sign or verify tokens refuse to start without a usable JWT_SECRET_KEY.
check_startup(
    os.environ.get("FUNCTION_TARGET", ""),
    needs_jwt=frozenset({"api", "capture", "login", "logout", "refresh", "register"}),
)
