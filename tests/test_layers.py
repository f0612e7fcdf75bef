"""The house's structure, read from the code: no import circles, and no import that runs back up a layer.

Imports flow from the edge inwards (docs/architecture.md): the command line and the ASGI entry point on top,
then the application, the web pages and the admin API, the REST transport, the composition root and the
demo portal, the methods and reports, storage, limits and live events, and at the bottom the pure parts
(domain, errors, clock, settings). Imports under ``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.helpers.source import runtime_imports

SOURCE = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SOURCE / "b24vote"

# The rank of each part of the package (its first name below ``b24vote``): a module may import its own part
# and parts of a lower or equal rank, never a higher one.
RANKS = {
    "domain": 0,
    "errors": 0,
    "clock": 0,
    "cache": 0,
    "config": 0,
    "logs": 0,
    "storage": 1,
    "limits": 1,
    "live": 1,
    "events": 1,
    "methods": 2,
    "reports": 2,
    "state": 3,
    "portal": 3,
    "transport": 4,
    "admin": 5,
    "openapi": 6,
    "web": 6,
    "app": 7,
    "asgi": 8,
    "cli": 8,
    "testing": 8,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def resolve(name: str) -> str | None:
    """The module an imported name lives in (``b24vote.x.y`` may name ``y`` inside module ``b24vote.x``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(path: Path) -> Iterator[tuple[str, bool]]:
    """(module imported, whether at the module's top level) for every b24vote import that runs."""
    for found in runtime_imports(path):
        target = resolve(found.name) if found.name.startswith("b24vote") else None
        if target is not None:
            yield target, found.at_top


def part(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_every_part_has_a_rank() -> None:
    parts = {part(module) for module in MODULES} - {""}
    assert parts <= set(RANKS), f"give these a rank in RANKS: {sorted(parts - set(RANKS))}"


def test_no_import_runs_back_up_a_layer() -> None:
    upward = []
    for module, path in MODULES.items():
        if module == "b24vote":  # the package's face hands names on lazily (tests/test_exported_members.py)
            continue
        for target, _ in imports(path):
            if part(target) and part(target) != part(module) and RANKS[part(target)] > RANKS[part(module)]:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that run back up a layer:\n" + "\n".join(sorted(set(upward)))


def test_no_import_circles() -> None:
    graph = {
        module: {target for target, at_top in imports(path) if at_top and target != module}
        for module, path in MODULES.items()
    }
    circles = [circle for circle in (_circle_from(start, graph) for start in graph) if circle]
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(circle) for circle in circles)


def _circle_from(start: str, graph: dict[str, set[str]]) -> list[str]:
    """A path of module-level imports from ``start`` back to it, if there is one."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, trail = stack.pop()
        for target in graph.get(node, ()):
            if target == start:
                return [*trail, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*trail, target]))
    return []
