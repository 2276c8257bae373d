"""The TA's grades without a server: the store (bounds, conflicts, the log, shards), a result's standing with them,
and what they change in grades.csv, nbgrader's gradebook and the feedback."""

import json
import os
import sys
from pathlib import Path

import pytest

from cnnlab.grading.errors import GradingError
from cnnlab.grading.results import gradebook, standing
from cnnlab.grading.results import manual as grades
from cnnlab.grading.results.result import GradingResult

LAB = "lab0_written"


def change(student="ann", grade_id="why", points=1.5, seen=0, digest="a1", comment="ok"):
    return grades.Change(student, grade_id, points, comment, digest, 2.0, (0,), seen)


def result(student="ann", digest="a1", score=1.0):
    return GradingResult(
        student,
        LAB,
        4.0,
        "test",
        score=score,
        reason="1 of 2 autograded points; failed: test_b.",
        cells=[
            {
                "grade_id": "test_a",
                "points": 1,
                "score": score,
                "state": "passed" if score else "failed",
                "path": "probe",
            },
            {"grade_id": "test_b", "points": 1, "score": 0.0, "state": "failed", "path": "probe"},
            {
                "grade_id": "why",
                "points": 2,
                "score": 0.0,
                "state": "manual",
                "path": "manual",
                "answer_sha256": digest,
            },
        ],
    )


def test_a_grade_is_saved_atomically_with_its_version_and_a_line_in_the_log(tmp_path):
    saved = grades.save(tmp_path, LAB, [change()], grader="ta1")[("ann", "why")]
    assert (saved.points, saved.comment, saved.version, saved.grader, saved.rubric) == (1.5, "ok", 1, "ta1", (0,))
    assert grades.manual_grades(tmp_path, LAB) == {"ann": {"why": saved}}
    again = grades.save(tmp_path, LAB, [change(points=2, seen=1)], grader="ta2")[("ann", "why")]
    assert again.version == 2 and again.points == 2
    log = [json.loads(line) for line in (tmp_path / "manual" / f"{LAB}.log").read_text().splitlines()]
    assert [(entry["grader"], entry["grade"]["points"], (entry["before"] or {}).get("points")) for entry in log] == [
        ("ta1", 1.5, None),
        ("ta2", 2.0, 1.5),
    ]
    assert not list((tmp_path / "manual").glob("*.tmp"))


@pytest.mark.parametrize("points", [-0.5, 2.5, "nan", "inf", "two", None])
def test_points_outside_the_question_s_are_refused_and_nothing_is_saved(tmp_path, points):
    with pytest.raises(GradingError, match="points must be"):
        grades.save(tmp_path, LAB, [change(), change(student="ben", points=points)])
    assert grades.manual_grades(tmp_path, LAB) == {}


def test_a_grade_changed_after_the_page_showed_it_is_not_overwritten(tmp_path):
    grades.save(tmp_path, LAB, [change(points=1)], grader="ta1")
    with pytest.raises(grades.EditConflict, match=r"changed by ta1 at .* \(now 1 points\); nothing was saved"):
        grades.save(tmp_path, LAB, [change(points=0, seen=0)], grader="ta2")  # ta2's page was opened before
    assert grades.manual_grades(tmp_path, LAB)["ann"]["why"].points == 1


def test_a_store_that_cannot_be_read_says_how_to_recover(tmp_path):
    (tmp_path / "manual").mkdir()
    (tmp_path / "manual" / f"{LAB}.json").write_text("{not json")
    with pytest.raises(GradingError, match=r"not a store of manual grades .* rebuild it from .*lab0_written.log"):
        grades.manual_grades(tmp_path, LAB)


def test_shards_grades_are_merged_and_a_disagreement_keeps_the_one_saved_more_often(tmp_path):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    grades.save(a, LAB, [change(student="ann")])
    grades.save(b, LAB, [change(student="ben", points=2)])
    grades.save(b, LAB, [change(student="ann", points=0.5)])
    grades.save(b, LAB, [change(student="ann", points=1, seen=1)])
    warnings = grades.merge(out, [a, b])
    merged = grades.manual_grades(out, LAB)
    assert {s: q["why"].points for s, q in merged.items()} == {"ann": 1, "ben": 2}
    assert warnings == ["ann lab0_written why: two manual grades (1.5 and 1 points); keeping the one saved more often"]


def test_a_question_waiting_counts_nothing_and_says_so_in_the_reason():
    row = standing.csv_row(result(), {})
    assert row["score"] == "1" and row["max_score"] == "4"
    assert row["reason"] == (
        "1 of 2 autograded points; failed: test_b. So far 1 of 4 points; 2 points wait for a TA (why)."
    )


def test_a_ta_s_points_join_the_total_and_a_changed_answer_keeps_them_flagged():
    grade = grades.ManualGrade(1.5, "fine", "a1", grader="ta1")
    row = standing.csv_row(result(), {"why": grade})
    assert row["score"] == "2.5"
    assert row["reason"].endswith("With the TA's grades, 2.5 of 4 points; graded by a TA: why 1.5 of 2.")
    resubmitted = standing.csv_row(result(digest="b2"), {"why": grade})
    assert resubmitted["score"] == "2.5"  # never changed by a rerun of the autograder
    assert resubmitted["reason"].endswith(
        "graded by a TA: why 1.5 of 2 (on an earlier answer); the answer to why changed after it was graded: "
        "a TA should look again."
    )


def test_a_grade_of_a_question_the_lab_no_longer_has_is_left_out():
    assert standing.standing(result(), {"gone": grades.ManualGrade(2, "", "x")}).total == 1


@pytest.fixture
def db(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # nbgrader's alembic
    path = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment(LAB)
        gb.add_notebook(LAB, LAB)
        for name in ("test_a", "test_b"):
            gb.add_grade_cell(name, LAB, LAB, max_score=1, cell_type="code")
        gb.add_grade_cell("why", LAB, LAB, max_score=2, cell_type="markdown")
        gb.add_solution_cell("why", LAB, LAB)
    return path


def gradebook_view(path):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{path}") as gb:
        submission = gb.find_submission(LAB, "ann")
        grade = gb.find_grade("why", LAB, LAB, "ann")
        comment = gb.find_comment("why", LAB, LAB, "ann")
        return submission.score, grade.auto_score, grade.manual_score, grade.needs_manual_grade, comment.manual_comment


def write_ta_grades(db, result, manual):
    """What every run writes of the student's final grade (no late penalty, no override)."""
    from cnnlab.grading.results.final import final_grade

    return gradebook.write_final(db, LAB, {"ann": final_grade(result, {}, [], manual.get(LAB, {}).get("ann", {}))})


def test_the_gradebook_mirrors_the_ta_s_grades_and_the_autograder_never_overwrites_them(db):
    gradebook.write(db, [result()])
    assert gradebook_view(db) == (1, None, None, True, None)
    manual = {LAB: {"ann": {"why": grades.ManualGrade(1.5, "see the slide", "a1")}}}
    write_ta_grades(db, result(), manual)
    assert gradebook_view(db) == (2.5, None, 1.5, False, "see the slide")
    gradebook.write(db, [result(score=0.0)])  # a regrade
    assert gradebook_view(db) == (1.5, None, 1.5, False, "see the slide")
    assert gradebook.sync(db, LAB, [result(score=0.0)]) == []  # the TA's points are not the autograder's to match
    gradebook.write(db, [result(digest="b2")])
    write_ta_grades(db, result(digest="b2"), manual)  # the answer changed: kept, and flagged for review
    assert gradebook_view(db) == (2.5, None, 1.5, True, "see the slide")


def test_a_manual_score_given_in_nbgrader_itself_is_named_and_replaced_by_the_ta_s_grades(db):
    from nbgrader.api import Gradebook

    gradebook.write(db, [result()])
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.find_grade("why", LAB, LAB, "ann").manual_score = 2
        gb.db.commit()
    notes = write_ta_grades(db, result(), {LAB: {}})
    assert gradebook_view(db) == (1, None, None, True, None)  # the exports count what the TA's page holds: 0 so far
    assert len(notes) == 1 and "manual score of 2 for ann's why, given outside cnnlab's TA page" in notes[0]


def test_merging_shards_carries_their_answers_weights_and_the_ta_s_grades(tmp_path):
    import csv

    from cnnlab.grading.results import store

    shards = []
    for name, student in (("a", "ann"), ("b", "ben")):
        shard = tmp_path / name
        store.write_result(store.result_path(shard, LAB, student), result(student))
        (shard / "answers" / LAB).mkdir(parents=True)
        (shard / "answers" / LAB / f"{student}.json").write_text('{"why": {"source": "x"}}')
        (shard / "weights" / LAB / student).mkdir(parents=True)
        (shard / "weights" / LAB / student / "m.npz").write_bytes(b"npz")
        grades.save(shard, LAB, [change(student=student, points=2 if student == "ann" else 1)])
        shards.append(shard)
    out = tmp_path / "merged"
    store.merge(out, shards)
    assert (out / "answers" / LAB / "ben.json").read_text() == '{"why": {"source": "x"}}'
    assert (out / "weights" / LAB / "ann" / "m.npz").read_bytes() == b"npz"
    with open(out / "grades.csv", newline="") as file:
        assert {r["student"]: r["score"] for r in csv.DictReader(file)} == {"ann": "3", "ben": "2"}
