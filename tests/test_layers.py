"""The package's folders are layers: a module imports only from its own layer and the
layers below it, so each layer can be read, tested and replaced without those above."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sinmdm"

# Each layer and the layers it may import from (besides itself).
BELOW: dict[str, set[str]] = {
    "base": set(),
    "anim": {"base"},
    "diffusion": {"base"},
    "evaluation": {"base", "anim"},
    "render": {"base", "anim"},
    "model": {"base", "anim", "diffusion"},
    "cleanup": {"base", "anim", "evaluation"},
    "sampling": {"base", "anim", "diffusion", "model"},
    "apps": {"base", "anim", "diffusion", "evaluation", "render", "model", "cleanup", "sampling"},
    "cli": {"base", "anim", "diffusion", "evaluation", "render", "model", "cleanup", "sampling", "apps"},
}
TOP_LEVEL = {"__init__", "__main__"}  # the package's entry points, which may import any layer


def _layer(module: str) -> str:
    """'sinmdm.anim.bvh' -> 'anim'; the package itself or a name outside it -> ''."""
    parts = module.split(".")
    return parts[1] if parts[0] == "sinmdm" and len(parts) > 1 else ""


def imports_of(path: Path, package: Path = PACKAGE) -> list[str]:
    """The sinmdm modules ``path`` imports, as absolute dotted names (relative imports resolved)."""
    here = ["sinmdm", *path.relative_to(package).with_suffix("").parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names] if not node.module else [target]
            found += [n for n in names if n.startswith("sinmdm")]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("sinmdm")]
    return found


def violations(package: Path = PACKAGE) -> list[str]:
    bad = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if len(rel.parts) == 1:
            if rel.stem not in TOP_LEVEL:
                bad.append(f"{rel}: a module outside every layer")
            continue
        layer = rel.parts[0]
        if layer not in BELOW:
            bad.append(f"{rel}: {layer}/ is not a known layer")
            continue
        for target in imports_of(path, package):
            other = _layer(target)
            if other and other != layer and other not in BELOW[layer]:
                bad.append(f"{rel} imports {target}: {layer} may not import {other}")
    return bad


def test_every_layer_is_a_folder_with_a_rule():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(BELOW)


def test_imports_only_point_down_the_layers():
    assert violations() == []


def test_the_rules_form_no_cycle():
    done: set[str] = set()
    for _ in BELOW:
        done |= {layer for layer, deps in BELOW.items() if deps <= done}
    assert done == set(BELOW)


def test_the_check_sees_an_upward_import(tmp_path):
    """Guards the guard: a model module importing the CLI is reported."""
    for layer in ("model", "cli"):
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "__init__.py").write_text("")
    (tmp_path / "model" / "bad.py").write_text("from ..cli.app import main\nimport sinmdm.apps.crowd\n")
    (tmp_path / "stray.py").write_text("")
    found = violations(tmp_path)
    assert any("model may not import cli" in v for v in found)
    assert any("model may not import apps" in v for v in found)
    assert any("stray.py" in v for v in found)


@pytest.mark.parametrize("layer", sorted(BELOW))
def test_each_layer_says_what_it_holds(layer):
    assert ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text()))


MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def sizes(package: Path = PACKAGE) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(lines, name) of every function and of every module, longest first."""
    functions, modules = [], []
    for path in package.rglob("*.py"):
        text = path.read_text()
        modules.append((len(text.splitlines()), str(path.relative_to(package))))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(package)}:{node.name}"))
    return sorted(functions, reverse=True), sorted(modules, reverse=True)


def test_functions_and_modules_stay_readable_in_one_sitting():
    functions, modules = sizes()
    assert [f for f in functions if f[0] > MAX_FUNCTION_LINES] == []
    assert [m for m in modules if m[0] > MAX_MODULE_LINES] == []


def test_the_size_check_sees_a_long_function(tmp_path):
    (tmp_path / "long.py").write_text("def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES)
    functions, modules = sizes(tmp_path)
    assert functions == [(MAX_FUNCTION_LINES + 1, "long.py:f")] and modules == [(MAX_FUNCTION_LINES + 1, "long.py")]


def test_tests_mirror_the_layers():
    """A layer's own tests sit in the folder of its name, the Blender add-on's (outside the
    package, in blender/) in tests/blender; cross-layer tests at the top."""
    folders = {p.name for p in Path(__file__).parent.iterdir() if p.is_dir() and list(p.glob("test_*.py"))}
    assert folders and folders <= set(BELOW) | {"blender"}
