"""The notebook labs: labs/ is nbgrader's release of solutions/, clean, and every solution runs and passes.

The solution runs in a Jupyter kernel on this interpreter, in quick mode, once per session (`solution_run`, shared
with the lab's grading batch). A lab that trains on a dataset names it in its notebook metadata
(`"cnnlab": {"datasets": ["mnist"]}`); its run skips, saying why, when the dataset is neither in CNNLAB_DATA_DIR
(CI sets ../shared/data) nor in the Keras cache. That no released test passes before the student answers is checked
on each lab batch's blank release (tests/grading/test_lab_batches.py).
"""

import re
from pathlib import Path

import nbformat
import pytest

from cnnlab import release
from cnnlab.lab import setup_cell_source

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS, LABS = ROOT / "solutions", ROOT / "labs"
SOLUTION_NOTEBOOKS = sorted(SOLUTIONS.glob("*/*.ipynb"))
RELEASED_NOTEBOOKS = sorted(LABS.glob("*/*.ipynb"))
ids = [p.parent.name for p in SOLUTION_NOTEBOOKS]


def read(path):
    return nbformat.read(path, as_version=4)


def released(solution_path):
    return LABS / solution_path.relative_to(SOLUTIONS)


def nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def region(source, begin, end, inside=True):
    """Lines strictly between the `### BEGIN ...` and `### END ...` markers (or, inside=False, all other lines)."""
    within, lines = False, []
    for line in source.splitlines():
        if line.strip() in (begin, end):
            within = line.strip() == begin
        elif within == inside:
            lines.append(line)
    return lines


def hidden_lines(cell, begin, end):
    """Non-blank, non-comment lines of a cell's regions that do not also occur outside them (those may stay)."""
    inside = {line.strip() for line in region(cell.source, begin, end)}
    outside = {line.strip() for line in region(cell.source, begin, end, inside=False)}
    return {line for line in inside - outside if line and not line.startswith("#")}


def test_every_lab_is_released_and_nothing_else():
    assert SOLUTION_NOTEBOOKS, "no solution notebooks found under solutions/"
    assert [p.relative_to(SOLUTIONS) for p in SOLUTION_NOTEBOOKS] == [p.relative_to(LABS) for p in RELEASED_NOTEBOOKS]


def test_labs_are_exactly_what_nbgrader_generates(bundle):
    """No drift: the student bundle's labs/, regenerated from solutions/ by `make_labs.py --out`, is labs/ byte for
    byte."""
    generated_root = bundle / "labs"
    generated = sorted(p.relative_to(generated_root) for p in generated_root.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(LABS) for p in LABS.rglob("*") if p.is_file())
    assert generated == committed
    for name in generated:
        assert (generated_root / name).read_bytes() == (LABS / name).read_bytes(), (
            f"labs/{name} differs from nbgrader's release of solutions/: run `make labs` and commit labs/"
        )


@pytest.mark.parametrize(
    "path",
    SOLUTION_NOTEBOOKS + RELEASED_NOTEBOOKS,
    ids=[str(p.relative_to(ROOT)) for p in SOLUTION_NOTEBOOKS + RELEASED_NOTEBOOKS],
)
def test_committed_notebooks_have_no_outputs(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} cell {index} has outputs"


@pytest.mark.parametrize(
    "path",
    SOLUTION_NOTEBOOKS + RELEASED_NOTEBOOKS,
    ids=[str(p.relative_to(ROOT)) for p in SOLUTION_NOTEBOOKS + RELEASED_NOTEBOOKS],
)
def test_first_cell_is_the_shared_setup_cell(path):
    install = release.course(ROOT)["install"]
    assert read(path).cells[0].source == setup_cell_source(path.parent.name, install), (
        f"{path.name}: the set-up cell differs from cnnlab.lab.setup_cell_source(); run `make labs`"
    )


@pytest.mark.parametrize("path", SOLUTION_NOTEBOOKS, ids=ids)
def test_graded_cells_are_well_formed(path):
    cells = [cell for cell in read(path).cells if nbgrader(cell)]
    grade_ids = [nbgrader(cell)["grade_id"] for cell in cells]
    assert len(grade_ids) == len(set(grade_ids)), f"duplicate grade_ids in {path.name}: {grade_ids}"
    assert all(re.fullmatch(r"[a-z0-9_]+", grade_id) for grade_id in grade_ids), grade_ids
    assert all(nbgrader(cell)["schema_version"] == 3 for cell in cells)
    written = [cell for cell in cells if nbgrader(cell)["solution"] and nbgrader(cell)["grade"]]  # a TA grades them
    solutions = [cell for cell in cells if nbgrader(cell)["solution"] and cell not in written]
    graded = [cell for cell in cells if nbgrader(cell)["grade"] and cell not in written]
    assert solutions and graded
    for cell in solutions:
        assert region(cell.source, "### BEGIN SOLUTION", "### END SOLUTION"), nbgrader(cell)["grade_id"]
    for cell in written:  # the whole Markdown cell is the model answer: the release gets "YOUR ANSWER HERE"
        assert cell.cell_type == "markdown" and cell.source.strip(), nbgrader(cell)["grade_id"]
        assert nbgrader(cell)["points"] > 0 and not nbgrader(cell)["locked"], nbgrader(cell)["grade_id"]
    for cell in graded:
        assert nbgrader(cell)["points"] > 0 and nbgrader(cell)["locked"], nbgrader(cell)["grade_id"]
        visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        assert "assert" in visible, f"{nbgrader(cell)['grade_id']}: no visible test to help the student"
    assert any(region(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS") for cell in graded), (
        f"{path.name} has no hidden tests"
    )


@pytest.mark.parametrize("path", SOLUTION_NOTEBOOKS, ids=ids)
def test_stated_points_add_up(path):
    """The introduction's "Total: N points" and each "**Task k (n points).**" and "**Written answer (n points, ...).**"
    match the graded cells."""
    cells = read(path).cells
    text = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    points = sum(nbgrader(cell)["points"] for cell in cells if nbgrader(cell).get("grade"))
    assert re.findall(r"Total: (\d+) points", text) == [str(points)]
    stated = re.findall(r"\*\*(?:Task \d+|Written answer) \((\d+) points?(?:\)|, graded by a TA\))\.\*\*", text)
    assert sum(int(n) for n in stated) == points


@pytest.mark.parametrize("path", SOLUTION_NOTEBOOKS, ids=ids)
def test_released_notebooks_hold_no_solution_and_no_hidden_test(path):
    source = {nbgrader(cell).get("grade_id"): cell for cell in read(path).cells if nbgrader(cell)}
    release = read(released(path))
    text = "\n".join(cell.source for cell in release.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    for cell in release.cells:
        grade_id = nbgrader(cell).get("grade_id")
        if grade_id is None:
            continue
        original = source[grade_id]
        secret = hidden_lines(original, "### BEGIN SOLUTION", "### END SOLUTION") | hidden_lines(
            original, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
        )
        leaked = secret & {line.strip() for line in cell.source.splitlines()}
        assert not leaked, f"{grade_id}: released with {sorted(leaked)}"
        if nbgrader(original)["solution"] and original.cell_type == "markdown":  # a written answer
            assert cell.source == "YOUR ANSWER HERE", grade_id
        elif nbgrader(original)["solution"]:
            assert "raise NotImplementedError()" in cell.source, grade_id


def errors(cell):
    return [f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error"]


@pytest.mark.parametrize("path", SOLUTION_NOTEBOOKS, ids=ids)
def test_solution_runs_in_quick_mode_and_earns_every_point(path, solution_run):
    executed, _ = solution_run(path.parent.name)
    failures = {index: errors(cell) for index, cell in enumerate(executed.cells) if errors(cell)}
    assert not failures, f"{path.name}: cells failed: {failures}"
    graded = [cell for cell in executed.cells if nbgrader(cell).get("grade")]
    points = sum(nbgrader(cell)["points"] for cell in graded)
    print(f"{path.name}: {len(graded)} graded cells, {points} points, all passed")
