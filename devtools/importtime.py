"""Read `python -X importtime` output: the import tree, a module's total, the heaviest packages.

Each line reads `import time: <self us> | <cumulative us> | <indent><module>`; a
module is printed after everything it imported, two spaces deeper than its parent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)\s*$")
FIRST_PARTY = frozenset({"main", "functions", "shared", "devtools"})


@dataclass
class ImportNode:
    """One imported module with its own and cumulative time in microseconds."""

    name: str
    self_us: int
    cumulative_us: int
    children: list[ImportNode] = field(default_factory=list)


def parse(lines: Iterable[str]) -> list[ImportNode]:
    """The import forest of the importtime lines in `lines` (other lines are skipped)."""
    stack: list[tuple[int, ImportNode]] = []
    for line in lines:
        match = _LINE.match(line)
        if not match:
            continue
        level = (len(match[3]) - 1) // 2
        node = ImportNode(match[4], int(match[1]), int(match[2]))
        # Children come first and sit deeper: everything deeper on the stack is ours.
        while stack and stack[-1][0] > level:
            node.children.insert(0, stack.pop()[1])
        stack.append((level, node))
    return [node for _, node in stack]


def package_of(module: str) -> str:
    """The package a module is reported under: `google.cloud.firestore`, `google.api_core`, `flask`."""
    parts = module.split(".")
    if parts[0] == "google" and len(parts) > 1:
        return ".".join(parts[:3] if parts[1] == "cloud" and len(parts) > 2 else parts[:2])
    return parts[0]


def _family(package: str) -> str:
    """`google.cloud.firestore_v1` and `google.cloud.firestore` are one family."""
    return re.sub(r"_v\d+\w*$", "", package)


def module_total_us(forest: list[ImportNode], module: str) -> int | None:
    """Cumulative microseconds of the first import of `module` in the forest, if imported."""
    pending = list(forest)
    while pending:
        node = pending.pop(0)
        if node.name == module:
            return node.cumulative_us
        pending.extend(node.children)
    return None


def package_totals(forest: list[ImportNode]) -> Counter[str]:
    """Cumulative microseconds per package, counting an import only where no ancestor is of its family.

    So `flask` includes the `werkzeug` it pulls in (and `werkzeug` is listed too),
    but `google.cloud.firestore_v1` inside `google.cloud.firestore` is not counted twice.
    """
    totals: Counter[str] = Counter()

    def visit(node: ImportNode, ancestors: frozenset[str]) -> None:
        package = package_of(node.name)
        family = _family(package)
        if family not in ancestors:
            totals[package] += node.cumulative_us
        for child in node.children:
            visit(child, ancestors | {family})

    for root in forest:
        visit(root, frozenset())
    return totals


def package_self_totals(forest: list[ImportNode]) -> Counter[str]:
    """Own (exclusive) microseconds per package: these add up to the whole import time."""
    totals: Counter[str] = Counter()
    pending = list(forest)
    while pending:
        node = pending.pop()
        totals[package_of(node.name)] += node.self_us
        pending.extend(node.children)
    return totals


def heaviest(totals: Counter[str], count: int = 5, exclude: frozenset[str] = FIRST_PARTY) -> list[tuple[str, int]]:
    """The `count` packages with the largest cumulative time, leaving out first-party code."""
    return [(name, us) for name, us in totals.most_common() if name not in exclude][:count]
