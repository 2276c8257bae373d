"""The term's rules in course.toml and the late policy: grace, started days or hours, the cap, extensions (a date
or a delay), the LMS's late marker without a time, and errors that name the key and the fix."""

import pytest

from cnnlab.grading.course import late, term
from cnnlab.grading.errors import GradingError
from cnnlab.grading.results.final import penalty

COURSE = """
[grading]
time_zone = "Europe/Paris"
overrides = "overrides.csv"

[grading.late]
grace_minutes = 15
per = "day"
penalty_percent = 10
cap_percent = 30

[labs.lab1_convolution]
due = "2026-03-02 23:59"
canvas_column = "Lab 1 (77)"

[labs.lab1_convolution.extensions]
"ext_date" = "2026-03-05 23:59"
"ext_delay" = "36h"

[labs.lab2_first_convnet]
due = "2026-03-09T12:00:00Z"
late = { per = "hour", penalty_percent = 5, penalty_of = "score", lms_late_marker = "ignore" }
"""


@pytest.fixture
def course(tmp_path):
    path = tmp_path / "course.toml"
    path.write_text(COURSE)
    return term.load(path)


def assess(rules, when, student="ann", lms_late=None):
    return late.assess(rules, student, when, "a test", lms_late)


def test_a_lab_s_rules_come_from_course_toml(course, tmp_path):
    rules = course.rules("lab1_convolution")
    assert rules.due == "2026-03-02T23:59:00+01:00" and rules.canvas_column == "Lab 1 (77)"
    assert rules.extensions == {"ext_date": "2026-03-05T23:59:00+01:00", "ext_delay": "2026-03-04T11:59:00+01:00"}
    assert course.overrides == tmp_path / "overrides.csv"
    lab2 = course.rules("lab2_first_convnet")
    assert lab2.policy.per == "hour" and lab2.policy.grace_minutes == 15 and lab2.policy.cap_percent == 30
    assert course.rules("lab3_lenet5").due is None
    assert term.LabRules.from_json(rules.to_json()) == rules
    assert term.load(tmp_path / "none.toml").rules("lab1_convolution").due is None


@pytest.mark.parametrize(
    "when, units, percent, sentence",
    [
        ("2026-03-02T22:00:00+00:00", 0, 0, "submitted 2026-03-02 23:00 CET, due 2026-03-02 23:59 CET: on time"),
        ("2026-03-03T00:10:00+01:00", 0, 0, "11 min late, within the 15 min of grace"),
        ("2026-03-03T00:15:00+01:00", 1, 10, "16 min late, 1 started day at 10% each: 10% of the lab's points"),
        ("2026-03-04T00:00:00+01:00", 2, 20, "1 d 1 min late, 2 started days at 10% each: 20% of the lab's points"),
        ("2026-03-12T00:00:00+01:00", 10, 30, "10 started days at 10% each, capped at 30%: 30% of the lab's points"),
    ],
)
def test_each_started_day_after_the_grace_costs_up_to_the_cap(course, when, units, percent, sentence):
    result = assess(course.rules("lab1_convolution"), when)
    assert (result.units, result.percent) == (units, percent)
    assert sentence in result.sentence
    assert penalty(result.to_json(), 12.0, 14.0) == pytest.approx(min(12.0, percent / 100 * 14))


def test_extensions_move_the_due_date(course):
    rules = course.rules("lab1_convolution")
    on_time = assess(rules, "2026-03-05T23:00:00+01:00", "ext_date")
    assert on_time.units == 0 and on_time.extended and on_time.due == "2026-03-05T23:59:00+01:00"
    assert "(your extension; the lab's is 2026-03-02 23:59 CET): on time" in on_time.sentence
    assert assess(rules, "2026-03-05T23:00:00+01:00", "ext_delay").units == 2  # 36 h: due 4 March 11:59


def test_the_lms_late_marker_without_a_time(course):
    rules = course.rules("lab1_convolution")
    marked = assess(rules, None, lms_late=True)
    assert (marked.units, marked.percent) == (1, 10)
    assert marked.sentence == (
        "the LMS marked it late and gives no time: the smallest late penalty, one day's (10% of the lab)"
    )
    assert assess(rules, None, "ext_date", lms_late=True).percent == 0
    assert assess(rules, None, lms_late=False).sentence == "no submission time: nothing is counted late"
    assert assess(course.rules("lab2_first_convnet"), None, lms_late=True).percent == 0  # "ignore"
    assert assess(course.rules("lab3_lenet5"), None, lms_late=True).percent == 0  # no due date


def test_hours_and_a_percent_of_the_score(course):
    result = assess(course.rules("lab2_first_convnet"), "2026-03-09T14:30:00+00:00")
    assert (result.units, result.percent, result.of) == (3, 15, "score")
    assert penalty(result.to_json(), 10.0, 14.0) == pytest.approx(1.5)


@pytest.mark.parametrize(
    "text, message",
    [
        ('[labs.lab1]\ndue = "tomorrow"', r"\[labs.lab1\] due: expected a date and time like '2026-03-02 23:59'"),
        ('[grading]\ntime_zone = "Mars/Olympus"', "time_zone 'Mars/Olympus' is not a time zone; use an IANA name"),
        ("[grading.late]\nper = 'week'", r"\[grading.late\] per: expected one of day, hour. Received: 'week'"),
        ("[grading.late]\npenalty_percent = 150", "penalty_percent: expected a number, 0 to 100 for a percent"),
        ('[labs.lab1]\ndue = "2026-03-02 23:59"', "has no UTC offset and \\[grading\\] sets no time_zone"),
        ('[labs.lab1]\ndeu = "2026-03-02T23:59:00Z"', r"unknown keys \['deu'\]; expected due, canvas_column"),
        ('[labs.lab1.extensions]\n"ann" = "2d"', "a delay \\('2d'\\) needs the lab's due date"),
    ],
)
def test_course_toml_errors_name_the_key_and_the_fix(tmp_path, text, message):
    path = tmp_path / "course.toml"
    path.write_text(text)
    with pytest.raises(GradingError, match=message):
        term.load(path).rules("lab1")
