"""The README's generated parts and the module map (docs/development.md) match what they describe."""

import re

from devtools.docs import config_table
from tests.support import ROOT

README = ROOT / "README.md"
DEVELOPMENT = ROOT / "docs" / "development.md"
SHARED = ROOT / "shared"


def module_map() -> str:
    """The text of the Module map section of docs/development.md."""
    return DEVELOPMENT.read_text(encoding="utf-8").split("\n## Module map\n", 1)[1].split("\n## ", 1)[0]


def shared_modules() -> set[str]:
    """Every module under shared/, as the map names it: `db.py`, `web/edge.py`, `web/docs/` for a package alone."""
    names = set()
    for path in SHARED.rglob("*.py"):
        package = path.parent
        if path.name != "__init__.py":
            names.add(path.relative_to(SHARED).as_posix())
        elif package != SHARED and [p.name for p in package.glob("*.py")] == ["__init__.py"]:
            names.add(package.relative_to(SHARED).as_posix() + "/")
    return names


def test_the_configuration_table_is_the_declared_settings() -> None:
    """Every setting is in the README with its declared default and range, and nothing else is."""
    assert config_table() in README.read_text(encoding="utf-8"), "regenerate it: python -m devtools.docs config-table"


def test_the_module_map_names_every_shared_module_and_no_other() -> None:
    """The module map lists each module of shared/ (two-space indent, path first), and only modules that exist."""
    named = set(re.findall(r"^  (\S+)", module_map(), flags=re.MULTILINE))
    assert named == shared_modules()
