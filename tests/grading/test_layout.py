"""The grader's folders import one way only (autograder/DESIGN.md, "Layout and import direction")."""

import ast
from pathlib import Path

GRADING = Path(__file__).resolve().parents[2] / "cnnlab" / "grading"

# bottom first: a folder imports only folders before it (or its own modules); one line is one layer
LAYERS = [
    {"errors", "paths", "cells"},
    {"secret", "answers"},
    {"jail"},
    {"course"},
    {"probes", "modelcheck"},
    {"similarity"},
    {"results"},
    {"intake"},
    {"worker"},
    {"handgrading"},
    {"batch"},
    {"cli"},
]


def part_of(dotted):
    """The grader's folder (or top-level module) a dotted name belongs to, or None outside the grader."""
    parts = dotted.split(".")
    return parts[2] if parts[:2] == ["cnnlab", "grading"] and len(parts) > 2 else None


def imports(path):
    """The dotted names a module imports from the grader (at any depth of the file: lazy imports count)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            names |= {f"{base}.{a.name}" for a in node.names} if base == "cnnlab.grading" else {base}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def layer_of(part):
    return next(i for i, layer in enumerate(LAYERS) if part in layer)


def test_every_folder_has_a_layer():
    parts = {p.stem if p.suffix == ".py" else p.name for p in GRADING.iterdir() if p.name != "__pycache__"}
    assert parts - {"__init__"} <= set().union(*LAYERS), "a folder without a layer in DESIGN.md and LAYERS"


def test_imports_point_down_the_layers():
    upward = []
    for path in sorted(GRADING.rglob("*.py")):
        here = path.relative_to(GRADING).parts[0].removesuffix(".py")
        if here == "__init__":
            continue
        for name in imports(path):
            there = part_of(name)
            if there and there != here and layer_of(there) >= layer_of(here):
                upward.append(f"{path.relative_to(GRADING)} imports {name}")
    assert not upward, "\n".join(upward)
