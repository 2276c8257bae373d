"""The rubric of a question a TA grades, in the lab's config: what is refused, and how the error says the fix."""

import nbformat
import pytest
from grading_helpers import _cell, _markdown

from cnnlab.grading.course import labconfig, rubric
from cnnlab.grading.errors import GradingError


def release(*extra):
    return nbformat.v4.new_notebook(
        cells=[_cell("import numpy as np", "setup", locked=True), _markdown("Because.", "why", 2), *extra]
    )


def config(items):
    return {"notebook": "lab0.ipynb", "manual": [{"grade_id": "why", "rubric": items}]}


def test_a_rubric_whose_items_add_up_to_the_question_is_taken():
    parsed = labconfig.parse("lab0", config([{"points": 1.5, "criterion": "a"}, {"points": 0.5, "criterion": "b"}]))
    rubric.check("lab0", parsed.manual, release())
    assert [(i.points, i.criterion) for i in parsed.manual["why"].items] == [(1.5, "a"), (0.5, "b")]
    assert "manual" not in parsed.to_json()  # a job never gets it: editing a rubric grades nothing again


@pytest.mark.parametrize(
    "items, message",
    [
        ([{"points": 1, "criterion": "a"}], r"the rubric of 'why' gives 1 points, but the question is worth 2"),
        ([{"points": 0, "criterion": "a"}], 'each rubric item needs positive "points"'),
        ([{"points": 2}], 'each rubric item needs a "criterion"'),
        ("2 points", 'each rubric item needs positive "points"'),
    ],
)
def test_a_wrong_rubric_says_what_to_fix(items, message):
    with pytest.raises(GradingError, match=message):
        rubric.check("lab0", labconfig.parse("lab0", config(items), "labs/lab0.json").manual, release())


def test_a_rubric_of_no_question_and_task_cells_are_refused():
    entry = {"grade_id": "other", "rubric": [{"points": 2, "criterion": "a"}]}
    parsed = labconfig.parse("lab0", {"manual": [entry]})
    with pytest.raises(GradingError, match=r"names no question a TA grades .* Such cells: why"):
        rubric.check("lab0", parsed.manual, release())
    task = nbformat.v4.new_markdown_cell("Describe it.")
    task.metadata["nbgrader"] = {"task": True, "grade_id": "task1", "points": 1, "grade": False, "solution": False}
    with pytest.raises(GradingError, match=r"task cells \(task1\) are not supported: make each question a graded"):
        rubric.check("lab0", {}, release(task))
