"""The feedback of a lab that loads a dataset (lab 2): the graded kernel has none, by design, so the cell that loads
it, the later cells that stopped on a name it defines, and the model-checked test cell say so plainly instead of
showing a DatasetNotFound traceback that asks the student to set CNNLAB_DATA_DIR, or `NameError: name 'mnist'`."""

import nbformat
from grading_helpers import answered, index_of, released

from cnnlab.grading.results.feedback_page import summary_markdown
from cnnlab.grading.worker.feedback import NO_DATASET, feedback_notebook

LAB = "lab2_first_convnet"


def error(name, value):
    return nbformat.v4.new_output("error", ename=name, evalue=value, traceback=[f"{name}: {value}", "CNNLAB_DATA_DIR"])


def printed(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_a_full_marks_lab_2_feedback_says_the_grader_has_no_dataset_and_shows_no_traceback():
    nb = answered(LAB)
    loading = next(i for i, c in enumerate(nb.cells) if 'mnist = load("mnist")' in c.source)
    nb.cells[loading].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="Recipe(...)\n"),
        error("DatasetNotFound", "mnist: no copy found. Fix: set CNNLAB_DATA_DIR to a folder"),
    ]
    later = next(i for i, c in enumerate(nb.cells) if c.source.startswith("filter_grid(mnist_model"))
    nb.cells[later].outputs = [error("NameError", "name 'mnist_model' is not defined")]
    test = index_of(nb, "test_mnist_model")
    nb.cells[test].outputs = [error("NameError", "name 'mnist' is not defined")]
    result = {
        "lab": LAB,
        "student": "ann",
        "score": 14.0,
        "max_score": 14.0,
        "status": "graded",
        "reason": "14 of 14 points; all tests passed.",
        "models": [],
        "cells": [
            {"grade_id": "test_mnist_model", "points": 2.0, "score": 2.0, "state": "passed", "path": "model checks"}
        ],
    }
    shown = feedback_notebook(nb, released(LAB), result)
    text = nbformat.writes(shown)
    assert "CNNLAB_DATA_DIR" not in text and "DatasetNotFound" not in text
    cells = {c.source: c for c in shown.cells if c.cell_type == "code"}
    assert printed(cells[nb.cells[loading].source]) == "Recipe(...)\n" + NO_DATASET
    assert printed(cells[nb.cells[later].source]).startswith(
        "[grader] NameError: name 'mnist_model' is not defined: a name the dataset cell above defines; that cell "
        "cannot run in the grader, so neither can this one: nothing for you to fix."
    )
    assert printed(
        next(c for c in shown.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_mnist_model")
    ) == (
        "[grader] 2 / 2: passed: scored by the checks of your saved model (the table at the top). This cell's own "
        "test needs the dataset, which the grader's kernel does not have.\n"
    )
    assert summary_markdown(result).splitlines()[2].startswith("**Score: 14 / 14** (status: graded; your grade")


def test_a_name_error_with_no_dataset_cell_before_it_is_the_student_s_own():
    nb = answered(LAB)
    later = next(i for i, c in enumerate(nb.cells) if c.source.startswith("filter_grid(mnist_model"))
    nb.cells[later].outputs = [error("NameError", "name 'mnist_model' is not defined")]
    result = {"lab": LAB, "student": "ann", "score": 0.0, "max_score": 14.0, "status": "graded", "reason": "",
              "models": [], "cells": []}  # fmt: skip
    shown = feedback_notebook(nb, released(LAB), result)
    outputs = next(c for c in shown.cells if c.source == nb.cells[later].source).outputs
    assert [o.output_type for o in outputs] == ["error"] and outputs[0].ename == "NameError"
