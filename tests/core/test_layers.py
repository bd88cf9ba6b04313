"""tether's imports point one way, and no module imports itself round a cycle.

web / cli -> engine -> capture -> burst / imaging -> camera -> the bottom floor (errors, events,
jobs, config, fileio, imagebytes). Every ``import`` counts, also one inside a function or under
``TYPE_CHECKING``: a lazy import hides a cycle, it does not remove it.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tether"

#: The bottom floor: small modules every part above may import, and what each of them may import.
FLOOR: dict[str, set[str]] = {
    "": set(),                       # tether/__init__.py (the version)
    "errors": set(),
    "events": set(),
    "imagebytes": {"errors"},
    "tiffwrite": set(),
    "fileio": {"errors"},
    "checks": {"errors"},
    "choices": {"errors"},
    "config": {"errors", "fileio"},
    "jobs": {"errors", "events"},
    "numbering": set(),
    "logfile": set(),                # the server's log file in the data folder
}
#: Each part above the floor and the other parts it may import. A part not listed here (or in FLOOR)
#: fails the test, so a new package has to be placed on purpose.
ABOVE: dict[str, set[str]] = {
    "camera": set(),
    "ptpip": {"camera"},             # the virtual Lumix: a camera seen from the other side
    "burst": set(),
    "imaging": set(),
    "capture": {"camera", "burst", "imaging"},
    "engine": {"camera", "burst", "imaging", "capture"},
    "ops": {"camera"},
    "cluster": {"burst", "imaging", "engine"},  # Celery's app, tasks and workers: stacks on other machines
    "web": {"camera", "burst", "imaging", "capture", "engine", "cluster"},
    "cli": {"camera", "burst", "imaging", "capture", "engine", "ops", "ptpip", "web", "cluster"},
    "__main__": {"cli"},
}
MAY_IMPORT = {**FLOOR, **{part: allowed | set(FLOOR) for part, allowed in ABOVE.items()}}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def imports(path: Path, modules: set[str]) -> set[str]:
    """The tether modules ``path`` imports (a name imported from a package counts as its submodule if it is one)."""
    found: set[str] = set()
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {name for name in found if name == "tether" or name.startswith("tether.")}


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imports(path, modules) & modules for path in paths}


def test_every_part_is_placed() -> None:
    parts = {part_of(module) for module in graph()}
    assert parts <= set(MAY_IMPORT), f"place these in MAY_IMPORT: {sorted(parts - set(MAY_IMPORT))}"


def test_imports_point_one_way() -> None:
    upward = sorted(f"{module} imports {target}"
                    for module, targets in graph().items() for target in targets
                    if part_of(target) != part_of(module)
                    and part_of(target) not in MAY_IMPORT.get(part_of(module), set()) | {""})
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_no_import_cycle() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}          # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)
