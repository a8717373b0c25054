"""The fake gcloud accepts only what the real gcloud CLI accepts, checked against the installed SDK's CLI tree."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import STANDARD_ARGS, FakeCloud, printed_commands
from tests.deploy.fake_gcloud import COMMANDS, GLOBAL_SWITCHES, GLOBAL_VALUES

# Accepted by gcloud but missing from its static tree, which leaves out aliases and hidden flags.
ALIASES = {("config", "get-value"): ("config", "get")}  # `get-value` is the long-standing alias of `get`
HIDDEN_FLAGS = {
    ("functions", "describe"): {"--gen2"},  # still accepted; older gcloud needs it for 2nd gen
    ("functions", "deploy"): {"--no-retry"},
    # gcloud adds a hidden --no-X to every Boolean flag --X (checked below to be one).
    ("artifacts", "repositories", "set-cleanup-policies"): {"--no-dry-run"},
}


@pytest.fixture(scope="module", name="cli_tree")
def _cli_tree() -> dict[str, Any]:
    """The installed Cloud SDK's static CLI tree (every command with its flags and their kinds)."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.skip("the Google Cloud SDK (gcloud) is not installed")
    tree_file = Path(os.path.realpath(gcloud)).parents[1] / "data" / "cli" / "gcloud_completions.py"
    if not tree_file.is_file():
        pytest.skip(f"this gcloud install has no static CLI tree ({tree_file.name})")
    source = tree_file.read_text()
    # The file is one Python dict literal written in JSON syntax.
    return json.loads(source[source.index("{") :])


def cli_flags(tree: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The flags of a command (kind "bool", "value", "dynamic" or a list of choices), global ones included."""
    node = tree
    for word in ALIASES.get(path, path):
        node = node["commands"][word]
    return tree["flags"] | node["flags"]


def test_the_fake_knows_only_real_commands_and_flags(cli_tree: dict[str, Any]) -> None:
    """Every command the fake accepts exists in gcloud, with each flag of the same kind (switch or value)."""
    for path, command in COMMANDS.items():
        real = cli_flags(cli_tree, path)
        hidden = HIDDEN_FLAGS.get(path, set())
        for name in command.switches | GLOBAL_SWITCHES:
            assert f"--{name}" in hidden or real.get(f"--{name}") == "bool", (path, name)
        for flag in hidden:
            if flag.startswith("--no-"):
                assert real.get(flag.replace("--no-", "--", 1)) == "bool", (path, flag)
        for name in command.values | GLOBAL_VALUES:
            assert real.get(f"--{name}") not in (None, "bool"), (path, name)


def test_choice_flags_get_one_of_their_choices(make_cloud: Callable[..., FakeCloud], cli_tree: dict[str, Any]) -> None:
    """Where gcloud restricts a flag to choices (e.g. --type, --query-scope), the script passes a valid one."""
    run = make_cloud().run(*STANDARD_ARGS, "--dry-run")
    assert run.returncode == 0, run.stderr
    checked = 0
    for words in printed_commands(run.stdout):
        path = next(p for p in sorted(COMMANDS, key=len, reverse=True) if tuple(words[: len(p)]) == p)
        for name, kind in cli_flags(cli_tree, path).items():
            if isinstance(kind, list):
                for word in words:
                    if word.startswith(f"{name}="):
                        assert word.split("=", 1)[1] in kind, word
                        checked += 1
    assert checked >= 2
