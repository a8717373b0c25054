"""Entry points of Tweet Capture API, one per deployed function (see the README).

Each entry point is re-exported from its own module in `functions/`, imported on
first access (PEP 562): an instance started with `--target capture` loads only
functions.capture and what it needs, never the code of the other functions.
"""

import importlib
import os
from typing import Any

from shared.config import check_startup
from shared.web.endpoints import BY_ENTRY_POINT, ENTRY_POINTS, NEEDS_JWT

__all__ = list(ENTRY_POINTS)


def __getattr__(name: str) -> Any:
    """The entry point `name`, importing its module on first use."""
    endpoint = BY_ENTRY_POINT.get(name)
    if endpoint is not None:
        return getattr(importlib.import_module(endpoint.module), name)
    raise AttributeError(f"module 'main' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), *__all__]


# Functions that sign or verify tokens refuse to start without a usable JWT_SECRET_KEY.
check_startup(os.environ.get("FUNCTION_TARGET", ""), needs_jwt=NEEDS_JWT)
