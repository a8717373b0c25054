"""The README's generated parts match what they are generated from."""

from devtools.docs import config_table
from tests.support import ROOT


def test_the_configuration_table_is_the_declared_settings() -> None:
    """Every setting is in the README with its declared default and range, and nothing else is."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert config_table() in readme, "regenerate it: python -m devtools.docs config-table"
