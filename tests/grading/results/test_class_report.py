"""The class report's view of a lab: each test's share passed, what its failures have in common (grouped messages,
numbers generalized, the probe's case names kept), tests that never ran apart, and the questions a TA grades."""

from cnnlab.grading.results import report
from cnnlab.grading.results.manual import ManualGrade

LAB = "lab9_demo"


def row(student, cells, models=(), status="graded"):
    return {
        "student": student,
        "slug": student,
        "lab": LAB,
        "status": status,
        "score": sum(c.get("score", 0) for c in cells),
        "max_score": 5,
        "cells": cells,
        "models": list(models),
    }


def cell(grade_id, state, **more):
    return {"grade_id": grade_id, "points": 1, "score": 1.0 if state == "passed" else 0.0, "state": state, **more}


def test_failures_are_grouped_by_reason_and_tests_that_never_ran_are_their_own_kind(tmp_path):
    probe = "probe"
    rows = [
        row("ann", [cell("test_a", "passed", path=probe), cell("test_m", "passed", path="model checks", model="m")]),
        row(
            "ben",
            [
                cell("test_a", "failed", path=probe, hidden_failed=True, message="'3a' is not the expected value"),
                cell("test_m", "failed", path="model checks", model="m"),
            ],
            models=[{"model": "m", "check": "accuracy", "passed": False, "message": "accuracy 0.31 under 0.95"}],
        ),
        row(
            "cy",
            [
                cell(
                    "test_a",
                    "failed",
                    path=probe,
                    visible_failed=True,
                    message="'3a' is not the expected value; '5b: parameters' is not the expected value",
                ),
                cell("test_m", "not run", path="model checks", model="m"),
            ],
        ),
        row(
            "dee",
            [cell("test_a", "not run", path=probe), cell("test_m", "failed", path="model checks", model="m")],
            models=[{"model": "m", "check": "accuracy", "passed": False, "message": "accuracy 0.12 under 0.95"}],
        ),
        row("eve", [], status="missing"),
    ]
    tests = report.test_summary([r for r in rows if r["status"] == "graded"])
    assert {k: tests["test_a"][k] for k in ("passed", "visible", "hidden", "not run")} == {
        "passed": 1,
        "visible": 1,
        "hidden": 1,
        "not run": 1,
    }
    assert tests["test_a"]["reasons"] == {
        "'3a' is not the expected value": 2,
        "'5b: parameters' is not the expected value": 1,
    }
    assert tests["test_m"]["reasons"] == {"accuracy: accuracy # under #": 2}
    report.write_report(tmp_path, rows)
    text = (tmp_path / "report.md").read_text()
    assert "| test_a | 1 of 4 | 25% | 1 | 1 | 1 |" in text
    assert "| test_m | 1 of 4 | 25% | 0 | 2 | 1 |" in text
    assert "  - 2: '3a' is not the expected value (ben, cy)" in text
    assert "  - 2: accuracy: accuracy # under # (ben, dee)" in text


def test_questions_a_ta_grades_are_counted_apart_from_the_tests(tmp_path):
    manual = {"grade_id": "why", "points": 2, "score": 0.0, "state": "manual", "path": "manual"}
    rows = [
        row("ann", [cell("test_a", "passed"), dict(manual, answer_sha256="a")]),
        row("ben", [cell("test_a", "passed"), dict(manual, answer_sha256="b")]),
        row("cy", [cell("test_a", "passed"), dict(manual, answer_sha256="c")]),
    ]
    grades = {"ann": {"why": ManualGrade(2, "", "a")}, "ben": {"why": ManualGrade(1, "", "old")}}
    assert report.manual_summary(rows, grades) == [("why", 2, 2, 1, 1, 1.5)]
    report.write_report(tmp_path, rows, manual={LAB: grades})
    text = (tmp_path / "report.md").read_text()
    assert "| why | 2 | 2 | 1 | 1 | 1.50 |" in text and "| test_a | 3 of 3 | 100% |" in text
    assert "Mean score 2.00 of 5 (tests and TA" in text  # the TA's points in the scores: (3 + 2 + 1) / 3
