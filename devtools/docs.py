"""Generated parts of the README: `python -m devtools.docs config-table` prints the configuration table.

tests/unit/test_readme.py holds the README to what this prints, so the table cannot
drift from `shared.config.SETTINGS`.
"""

from __future__ import annotations

import sys

from shared.config import SETTINGS, Setting

_EMULATOR_ROW = (
    "| `FIRESTORE_EMULATOR_HOST`, `PUBSUB_EMULATOR_HOST` | — | "
    "Standard variables that point the client libraries at the emulators. |"
)


def default_cell(setting: Setting) -> str:
    """How the README writes a setting's default."""
    if setting.secret:
        return "— (a secret)"
    if setting.fallback_env:
        return f"`{setting.fallback_env}`"
    if setting.default is None:
        return "— (none)"
    if isinstance(setting.default, bool):
        return f"`{str(setting.default).lower()}`"
    if isinstance(setting.default, tuple):
        return f"`{','.join(setting.default)}`"
    if isinstance(setting.default, float) and setting.default.is_integer():
        return f"`{int(setting.default)}`"
    return f"`{setting.default}`"


def meaning_cell(setting: Setting) -> str:
    """The meaning of a setting, with its accepted range where it has one."""
    if setting.low is None:
        return setting.meaning
    return f"{setting.meaning} From {setting.low} to {setting.high}."


def config_table() -> str:
    """The README's configuration table, one row per declared setting."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    rows += [f"| `{s.env}` | {default_cell(s)} | {meaning_cell(s)} |" for s in SETTINGS]
    rows.append(_EMULATOR_ROW)
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    """Print the generated README part named on the command line."""
    if argv[1:] != ["config-table"]:
        print("usage: python -m devtools.docs config-table", file=sys.stderr)
        return 2
    print(config_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
