"""`python -m devtools.soak`: SOAK_SECONDS (300), SOAK_SEED (15), SOAK_REPORT (soak-report.json), SOAK_UNLIKE (1)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from devtools.soak.report import table, write_json
from devtools.soak.run import Soak


def main() -> int:
    """Run one soak; 0 only when the audit balances."""
    seconds = float(os.environ.get("SOAK_SECONDS") or 300)
    seed = int(os.environ.get("SOAK_SEED") or 15)
    report = Path(os.environ.get("SOAK_REPORT") or f"soak-report-{seed}.json")
    unlike = (os.environ.get("SOAK_UNLIKE") or "1") not in ("0", "false", "no")
    result, header = Soak(seconds, seed, unlike).run()
    print(table(result, header), flush=True)
    write_json(result, header, report)
    print(f"report written to {report}", flush=True)
    return 0 if result.balanced else 1


if __name__ == "__main__":
    sys.exit(main())
