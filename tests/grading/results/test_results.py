"""Statuses, a result file read back as written, the reason's order of failed model checks, the gradebook's
resync after a killed run, the report's identical files (cnnlab.grading.results)."""

import json

import pytest
from grading_helpers import LAB

from cnnlab.grading.intake import discover as submissions
from cnnlab.grading.results import gradebook as gradebooks
from cnnlab.grading.results import report
from cnnlab.grading.results.result import GradingResult
from cnnlab.grading.results.status import STATUSES, Status

NAME = f"{LAB}.ipynb"


def discover(root):
    found, warnings = submissions.discover(root, LAB, NAME, ["lab0_tiny"])
    return {s.student: s for s in found}, warnings


# -- statuses, gradebook, report --


def test_statuses_are_ordered_and_say_where_they_go():
    assert STATUSES == ("graded", "error", "timeout", "tampered", "missing", "rejected", "grader_error")
    assert Status.GRADED.raised_to("tampered") is Status.TAMPERED
    assert Status.TIMEOUT.raised_to("error") is Status.TIMEOUT
    with pytest.raises(ValueError, match="only graded, error, timeout, tampered are ordered"):
        Status.MISSING.raised_to("error")
    assert [s.value for s in Status if not s.in_gradebook] == ["rejected", "grader_error"]
    assert [s.value for s in Status if s.regrade] == ["grader_error"]


def test_a_result_file_reads_back_as_written():
    """results/<lab>/<slug>.json: the keys in the order the batch has always written them, optional ones only
    when set, and the keys of an older grader kept."""
    kept = {
        "student": "ann",
        "slug": "ann",
        "lab": LAB,
        "status": "tampered",
        "reason": "r.",
        "score": 2.0,
        "max_score": 4.0,
        "cells": [{"grade_id": "test_a", "score": 2.0, "state": "passed"}],
        "models": [],
        "notes": ["n"],
        "timings": {"total": 1.5},
        "isolation": "test",
        "model_runs": [{"model": "m"}],
        "files_sha256": {NAME: "aa"},
        "input_hash": "h",
        "grader_failure": False,
    }
    result = GradingResult.from_json(kept)
    assert result.status is Status.TAMPERED and result.extra == {"grader_failure": False}
    assert json.dumps(result.to_json(), indent=1) == json.dumps(kept, indent=1)
    new = GradingResult("b\u00e9a", LAB, 4.0, "test", slug="bea-1")
    assert list(new.to_json()) == [
        "student",
        "slug",
        "lab",
        "status",
        "reason",
        "score",
        "max_score",
        "cells",
        "models",
        "notes",
        "timings",
        "isolation",
    ]
    new.note("cells were deleted", "tampered")
    new.note("the kernel died", "error")
    assert new.status is Status.TAMPERED and new.summary() == "0 of 4 points; cells were deleted; the kernel died."
    assert new.csv_row() == {
        "student": "b\u00e9a",
        "lab": LAB,
        "score": "0",
        "max_score": "4",
        "status": "tampered",
        "reason": "",
    }


def test_each_model_s_failed_checks_follow_its_own_test_in_the_reason():
    """grades.csv once put both models' numbers after the first failed test, whichever model they were of."""
    result = GradingResult(
        "ann",
        "lab2_first_convnet",
        14.0,
        "test",
        score=11.0,
        cells=[
            {"grade_id": "test_layer_counts", "score": 0.0, "state": "failed"},
            {"grade_id": "test_mnist_model", "score": 2.0, "state": "passed", "model": "lab2_mnist"},
            {"grade_id": "test_cifar10_model", "score": 1.0, "state": "failed", "model": "lab2_cifar10"},
        ],
        models=[
            {
                "model": "lab2_mnist",
                "check": "accuracy",
                "points": 1,
                "score": 1,
                "passed": True,
                "message": "accuracy 0.99",
            },
            {
                "model": "lab2_cifar10",
                "check": "accuracy",
                "points": 1,
                "score": 0,
                "passed": False,
                "message": "accuracy 0.1",
            },
            {
                "model": "lab2_extra",
                "check": "params",
                "points": 1,
                "score": 0,
                "passed": False,
                "message": "3 parameters",
            },
        ],
    )
    assert result.summary() == (
        "11 of 14 points; failed: test_layer_counts, test_cifar10_model (lab2_cifar10: accuracy "
        "0.1), lab2_extra: 3 parameters."
    )


@pytest.fixture
def gradebook(tmp_path):
    from nbgrader.api import Gradebook

    db = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.add_assignment(LAB)
        gb.add_notebook(LAB, LAB)
        for name in ("test_a", "test_b"):
            gb.add_grade_cell(name, LAB, LAB, max_score=2, cell_type="code")
    return db


def result(student, status="graded", a=2.0, b=0.0):
    return GradingResult(
        student,
        LAB,
        4.0,
        "test",
        status=status,
        score=a + b,
        cells=[
            {"grade_id": name, "score": x, "state": "passed" if x else "failed"}
            for name, x in (("test_a", a), ("test_b", b))
        ],
    )


def scores(db):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        return {s.student.id: s.score for s in gb.find_assignment(LAB).submissions}


def test_gradebook_resync_writes_what_a_killed_run_left_out(gradebook):
    kept = [
        result("ann"),
        result("ben", a=2, b=2),
        result("cy", "grader_error", 0),
        result("dee", "rejected", 0),
        result("eve", "missing", 0),
    ]
    gradebooks.write(gradebook, kept[:1])  # the run was killed after ann
    assert gradebooks.sync(gradebook, LAB, kept) == ["ben", "eve"]
    assert scores(gradebook) == {"ann": 2, "ben": 4, "eve": 0}
    assert gradebooks.sync(gradebook, LAB, kept) == []  # in line: nothing written
    assert gradebooks.sync(gradebook, LAB, [result("ann", a=0)]) == ["ann"]  # a regrade the gradebook missed
    assert scores(gradebook)["ann"] == 0


def test_report_lists_identical_files_across_students(tmp_path):
    rows = [
        dict(result(s).to_json(), files_sha256={NAME: digest, "m.keras": model})
        for s, digest, model in (("ann", "aa", "m1"), ("ben", "aa", "m2"), ("cy", "cc", "m2"), ("dee", "dd", "m4"))
    ]
    assert report.identical_files(rows) == [
        ("lab1_convolution.ipynb", "aa", ["ann", "ben"]),
        ("m.keras", "m2", ["ben", "cy"]),
    ]
    report.write_report(tmp_path, rows)
    text = (tmp_path / "report.md").read_text()
    assert "| lab1_convolution.ipynb | aa | ann, ben |" in text and "| m.keras | m2 | ben, cy |" in text
