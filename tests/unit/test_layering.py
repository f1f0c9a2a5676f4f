"""The packages import one way: workflow → notifications → storage → states (and the web
on top); a module that imports across the declared layers fails this test, naming the line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("states", "storage", "notifications", "workflow", "web")

# What each layer may import of ours (besides itself). workflow.cli is the composition root and
# may import anything; nothing below it may import it.
ALLOWED: dict[str, set[str]] = {
    "states": set(),
    "storage": {"states"},
    "notifications": {"storage", "states"},
    "workflow": {"notifications", "storage", "states"},
    "web": {"workflow", "notifications", "storage", "states"},
}


def layer(module: str) -> str:
    """The layer of a module: its top-level package, with workflow.cli a layer of its own."""
    if module == "workflow.cli" or module.startswith("workflow.cli."):
        return "workflow.cli"
    return module.split(".")[0]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, anywhere in it (lazy imports too), made absolute."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from workflow import cli` imports workflow.cli
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names
                      if f"{target}.{a.name}" == "workflow.cli"]
    return found


def violations(path: Path) -> list[str]:
    """The imports of `path` that cross the declared layers, as 'module:line: imports X'."""
    source = module_name(path)
    src_layer = layer(source)
    if src_layer == "workflow.cli":
        return []
    out = []
    for line, target in imports_of(path):
        if target.split(".")[0] not in OURS:
            continue  # the standard library and third-party packages
        dst_layer = layer(target)
        if dst_layer == src_layer or dst_layer in ALLOWED[src_layer]:
            continue
        out.append(f"{source}:{line}: imports {target} ({src_layer} may import "
                   f"{', '.join(sorted(ALLOWED[src_layer])) or 'nothing of ours'})")
    return out


def modules() -> list[Path]:
    return sorted(p for pkg in OURS if (ROOT / pkg).is_dir()
                  for p in (ROOT / pkg).rglob("*.py"))


def test_the_layers_exist() -> None:
    """The four layers of the house style are there to be checked."""
    for pkg in ("states", "storage", "notifications", "workflow"):
        assert (ROOT / pkg / "__init__.py").is_file(), pkg


@pytest.mark.parametrize("pkg", OURS)
def test_no_module_imports_across_the_layers(pkg: str) -> None:
    """Every module of the package imports only from the layers below it."""
    if not (ROOT / pkg).is_dir():
        pytest.skip(f"no {pkg}/ package yet")
    found = [v for p in modules() if module_name(p).split(".")[0] == pkg for v in violations(p)]
    assert found == [], "imports across the layers:\n" + "\n".join(found)


def test_the_checker_catches_a_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A made-up states module importing storage, or notifications importing workflow.cli lazily
    and relatively, is reported with its line."""
    fake = tmp_path / "root"
    (fake / "states").mkdir(parents=True)
    (fake / "notifications").mkdir()
    (fake / "states" / "__init__.py").write_text("import os\nfrom storage.models import x\n")
    (fake / "notifications" / "jobs.py").write_text(
        "from . import render\n\ndef f():\n    from workflow import cli\n")
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    assert violations(fake / "states" / "__init__.py") == [
        "states:2: imports storage.models (states may import nothing of ours)"]
    assert violations(fake / "notifications" / "jobs.py") == [
        "notifications.jobs:4: imports workflow (notifications may import states, storage)",
        "notifications.jobs:4: imports workflow.cli (notifications may import states, storage)"]
