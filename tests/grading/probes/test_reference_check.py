"""The reference's check (`reference.check`, in the first worker's reference kernel): a solution whose own probe
fails stops the batch before any student is graded, and says which test and what to fix."""

import shutil

import nbformat
import pytest
from grading_helpers import LAB, ROOT, answered, index_of, write

from cnnlab.grading.batch import run as batch
from cnnlab.grading.batch.options import Options
from cnnlab.grading.errors import GradingError

NAME = f"{LAB}.ipynb"


def test_a_solution_that_fails_its_own_probe_stops_the_batch_before_any_student(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT / "solutions" / LAB, source / LAB)
    solution = nbformat.read(source / LAB / NAME, as_version=4)
    test = solution.cells[index_of(solution, "test_conv2d")]
    test.source = test.source.replace("### BEGIN PROBE\n", "### BEGIN PROBE\nraise ValueError('a broken probe')\n")
    nbformat.write(solution, source / LAB / NAME)
    write(tmp_path / "subs" / "s1" / NAME, answered(LAB))
    out = tmp_path / "out"
    options = Options(lab=LAB, submissions=tmp_path / "subs", out=out, source=source, quick=True, verbose=False)
    with pytest.raises(GradingError, match=r"could not be made: test_conv2d: the solution's own probe stopped with "):
        batch.grade(options)
    assert not list((out / "results").glob(f"{LAB}/*.json"))  # nobody graded against a broken reference
    assert not (out / "grades.csv").exists() or "s1" not in (out / "grades.csv").read_text()
