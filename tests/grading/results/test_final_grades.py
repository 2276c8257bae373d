"""The overrides file and the final grade: a test override replaces or adjusts its test before the late penalty, a
`total` override is the last word after it; an override that cannot apply is an error, never a silent no-op."""

import pytest

from cnnlab.grading.errors import GradingError
from cnnlab.grading.results import overrides
from cnnlab.grading.results.final import final_grade, shown
from cnnlab.grading.results.result import GradingResult

LAB = "lab1_convolution"
LATE_20 = {"percent": 20.0, "of": "points", "sentence": "2 started days", "submitted_at": "2026-03-04T00:00:00+01:00"}


def result(student="ann", status="graded", a=2.0, b=0.0):
    return GradingResult(
        student,
        LAB,
        4.0,
        "test",
        status=status,
        score=a + b,
        cells=[
            {"grade_id": "test_a", "points": 2.0, "score": a, "state": "passed" if a else "failed"},
            {"grade_id": "test_b", "points": 2.0, "score": b, "state": "passed" if b else "failed"},
        ],
    )


def read(tmp_path, *rows):
    path = tmp_path / "overrides.csv"
    path.write_text("\n".join(["student,lab,test,points,reason,who", *rows]) + "\n")
    return overrides.read(path)


def test_no_override_no_lateness_is_the_automatic_score(tmp_path):
    grade = final_grade(result(), {}, [])
    assert (grade.raw, grade.score, grade.penalty, grade.final, grade.total_adjustment) == (2, 2, 0, 2, 0)
    assert overrides.read(tmp_path / "none.csv") == []


def test_test_overrides_apply_before_the_penalty_and_a_total_after_it(tmp_path):
    kept = read(
        tmp_path,
        "ann,lab1_convolution,test_b,2,accepted a transposed answer,JD",
        'ann,lab1_convolution,total,+0.5,"regrade request, 14 March",TA',
        "bob,lab1_convolution,total,1,other student,JD",
        "ann,lab2_first_convnet,total,0,other lab,JD",
    )
    mine = overrides.applying(kept, "ann", LAB)
    assert [o.line for o in mine] == [2, 3]
    grade = final_grade(result(), LATE_20, mine)
    assert grade.tests["test_b"] == {"points": 2.0, "auto": 0.0, "score": 2.0}
    assert (grade.raw, grade.score, grade.penalty, grade.final) == (2.0, 4.0, 0.8, 3.7)
    assert grade.total_adjustment == 0.5
    assert [(o["test"], o["before"], o["after"], o["who"]) for o in grade.overrides] == [
        ("test_b", 0.0, 2.0, "JD"),
        ("total", 3.2, 3.7, "TA"),
    ]
    waived = final_grade(result(), LATE_20, read(tmp_path, "ann,lab1_convolution,total,2,penalty waived,JD"))
    assert (waived.penalty, waived.final, waived.total_adjustment) == (0.8, 2.0, 0.8)


def test_missing_rejected_and_grader_errors(tmp_path):
    missing = final_grade(result(status="missing", a=0), LATE_20, [])
    assert (missing.final, missing.penalty) == (0.0, 0.0)  # nothing submitted, nothing late
    rejected = final_grade(result(status="rejected", a=0), {}, [])
    assert (rejected.raw, rejected.final) == (None, None)
    looked_at = final_grade(
        result(status="grader_error", a=0), {}, read(tmp_path, "ann,lab1_convolution,total,3,graded by hand,JD")
    )
    assert looked_at.final == 3.0
    with pytest.raises(GradingError, match=r"has no score \(grader_error\) to adjust by \+1"):
        final_grade(result(status="grader_error", a=0), {}, read(tmp_path, "ann,lab1_convolution,total,+1,x,JD"))


@pytest.mark.parametrize(
    "row, message",
    [
        (
            "ann,lab1_convolution,test_c,1,typo,JD",
            r"ann lab1_convolution has no test 'test_c' \(its tests: test_a, test_b\)",
        ),
        ("ann,lab1_convolution,test_a,3,too much,JD", r"3 makes test_a 3, outside 0 to 2"),
        ("ann,lab1_convolution,total,-5,too little,JD", r"-5 makes the total -3, outside 0 to 4"),
    ],
)
def test_an_override_that_cannot_apply_is_an_error(tmp_path, row, message):
    with pytest.raises(GradingError, match=message):
        final_grade(result(), {}, read(tmp_path, row))


def test_the_overrides_file_is_checked_row_by_row(tmp_path):
    with pytest.raises(GradingError, match="line 2: reason, who empty; every override names"):
        read(tmp_path, "ann,lab1_convolution,total,3,,")
    with pytest.raises(GradingError, match="points 'three' is not a number; write 2 to set the score"):
        read(tmp_path, "ann,lab1_convolution,total,three,r,JD")
    (tmp_path / "bad.csv").write_text("student,lab,points\n")
    with pytest.raises(GradingError, match="needs the columns student, lab, test, points, reason, who; it lacks test"):
        overrides.read(tmp_path / "bad.csv")
    assert [shown(x) for x in (None, 2.0, 2.456, 12.6)] == ["", "2", "2.46", "12.6"]
