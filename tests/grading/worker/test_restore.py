"""Restoring the instructors' cells (cnnlab.grading.worker.restore): graded cells of another lab are removed with a
note."""

import nbformat
from grading_helpers import LAB, answered, index_of, nbg, released

from cnnlab.grading.intake import discover as submissions
from cnnlab.grading.results.result import GradingResult
from cnnlab.grading.worker.restore import check_structure

NAME = f"{LAB}.ipynb"


def discover(root):
    found, warnings = submissions.discover(root, LAB, NAME, ["lab0_tiny"])
    return {s.student: s for s in found}, warnings


# -- graded cells of another lab --


def test_graded_cells_of_another_lab_are_removed_with_a_note(tmp_path):
    nb = answered()
    extra = nbformat.v4.new_code_cell("assert lenet().count_params() == 61706")
    extra.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_lenet_params",
        "locked": True,
        "points": 3,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    answer = nbformat.v4.new_code_cell("def lenet():\n    return None")
    answer.metadata["nbgrader"] = {
        "grade": False,
        "grade_id": "lenet",
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    nb.cells[index_of(nb, "test_conv2d") + 1 : index_of(nb, "test_conv2d") + 1] = [answer, extra]
    result = GradingResult("ann", LAB, 14.0, "test")
    check_structure(nb, released(), result, NAME)
    assert result.status == "graded"
    assert result.notes == [
        f"cells of no {LAB} test or answer were found (lenet, test_lenet_params; copied "
        f"from another lab?): the grader removed their tests and graded the rest"
    ]
    assert not [c for c in nb.cells if nbg(c).get("grade_id") in ("lenet", "test_lenet_params")]
    assert any(c.source.startswith("def lenet") for c in nb.cells) and not any("61706" in c.source for c in nb.cells)
