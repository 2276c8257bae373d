"""Each lab's grader config (`autograder/labs/<lab>.json`, cnnlab.grading.course.labconfig): points, errors that
say what to fix, every lab valid."""

import nbformat
import pytest
from grading_helpers import (
    ROOT,
    TINY,
    released,
    tiny_config,
)

from cnnlab.grading.course import labconfig, rubric
from cnnlab.grading.errors import GradingError

# -- lab configs --


def test_lab_config_points_must_match_the_test_cell():
    config = labconfig.parse(TINY, tiny_config())
    labconfig.check_points(config, {"test_model": 4})
    with pytest.raises(GradingError, match="give 4 points, but test cell 'test_model' is worth 5"):
        labconfig.check_points(config, {"test_model": 5})
    with pytest.raises(GradingError, match="does not have"):
        labconfig.check_points(config, {"test_other": 4})


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["models"][0]["checks"][0].update(check="flops"), "unknown check 'flops'"),
        (
            lambda c: c["models"][0]["checks"][3].pop("test_set"),
            "needs either 'dataset' .* or 'test_set' .*not neither",
        ),
        (lambda c: c["models"][0]["checks"][3].update(dataset="mnist"), "not both"),
        (lambda c: c["models"][0]["checks"][3].update(split="train"), "split must be one of test, val"),
        (lambda c: c["models"][0]["checks"][3].update(pad=32), r"unknown keys \['pad'\]; it takes .*pad_to"),
        (lambda c: c["models"][0]["checks"][3].pop("min"), "needs 'min'"),
        (lambda c: c["models"][0]["checks"][0].update(points=0), "needs positive 'points'"),
        (lambda c: c.update(model=[]), "unknown keys"),
    ],
)
def test_lab_config_errors_say_what_to_fix(change, message):
    config = tiny_config()
    change(config)
    with pytest.raises(GradingError, match=message):
        labconfig.parse(TINY, config, "labs/lab0_tiny.json")


def test_every_lab_has_a_valid_config():
    for source in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        lab = source.parent.name
        config = labconfig.load(lab, ROOT / "autograder" / "labs")
        graded = {
            c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in nbformat.read(source, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("grade")
        }
        labconfig.check_points(config, graded)
        rubric.check(lab, config.manual, released(lab))  # the rubrics, of the release's questions a TA grades
        assert set(config.manual) == set(rubric.questions(released(lab))), f"{lab}: a written answer lacks a rubric"
        assert (source.parent / config.notebook).exists()
        if "train_or_load(" in source.read_text():  # its test-error cell cannot pass in the sandboxed kernel
            assert config.models, f"{lab} saves trained models: autograder/labs/{lab}.json must check them"
