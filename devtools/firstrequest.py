"""Serve one first request in-process and report what it imported (a helper of devtools.bench).

Run as `python -X importtime -m devtools.firstrequest '<request as JSON>'` with
FUNCTION_TARGET and the service's configuration in the environment. It loads
main.py the way functions-framework does, writes MARKER to stderr, serves the
request through the app's test client and prints one RESULT_PREFIX line of JSON:
the status, the timings and which client libraries are in `sys.modules`. The
importtime lines after MARKER are the imports the first request triggered.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

MARKER = "bench-marker: first request"
RESULT_PREFIX = "BENCH-RESULT "
WATCHED = ("google.cloud.firestore", "google.cloud.pubsub_v1", "grpc", "bcrypt", "jwt", "marshmallow")
ROOT = Path(__file__).resolve().parent.parent


def serve_first_request(spec: dict[str, Any]) -> dict[str, Any]:
    """Load main.py for $FUNCTION_TARGET, serve the request once, report status, timings and imports."""
    started = time.perf_counter()
    import functions_framework

    client = functions_framework.create_app(os.environ["FUNCTION_TARGET"], str(ROOT / "main.py")).test_client()
    loaded = time.perf_counter()
    before = {name: name in sys.modules for name in WATCHED}
    sys.stderr.write(MARKER + "\n")
    sys.stderr.flush()
    response = client.open(
        spec["path"], method=spec["method"], headers=spec["headers"], data=spec["body"].encode("utf-8")
    )
    served = time.perf_counter()
    return {
        "status": response.status_code,
        "load_app_s": loaded - started,
        "first_request_s": served - loaded,
        "imported_before_request": before,
        "imported_after_request": {name: name in sys.modules for name in WATCHED},
    }


def main() -> None:
    """Entry point: the request comes as one JSON argument."""
    result = serve_first_request(json.loads(sys.argv[1]))
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
