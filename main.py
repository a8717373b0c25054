"""Entry points of Tweet Capture API, one per deployed function (see the README)."""

import os

from functions.api import api
from functions.capture import capture
from functions.health import health
from functions.login import login
from functions.logout import logout
from functions.refresh import refresh
from functions.register import register
from functions.retry_queue import retry_queue
from shared.config import check_startup

__all__ = ["api", "capture", "health", "login", "logout", "refresh", "register", "retry_queue"]

# Functions that sign or verify tokens refuse to start without a usable JWT_SECRET_KEY.
check_startup(
    os.environ.get("FUNCTION_TARGET", ""),
    needs_jwt=frozenset({"api", "capture", "login", "logout", "refresh", "register"}),
)
