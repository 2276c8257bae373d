"""Rosters (`--roster`): each LMS's own export read as it is; a file that is no roster says what was expected."""

from zoneinfo import ZoneInfo

import pytest

from cnnlab.grading.errors import GradingError
from cnnlab.grading.intake import roster as rosters

PARIS = ZoneInfo("Europe/Paris")


def test_canvas_gradebook_export_with_its_points_and_posting_rows(tmp_path):
    path = tmp_path / "canvas.csv"
    path.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,Lab 1 (77),Current Points\n"
        "    Points Possible,,,,,14,(read only)\n"
        ",,,,,Manual Posting,\n"
        '"Doe, Jane",1111,S1,jdoe,Section A,12,12\n'
        '"Doe, Jane",2222,S2,jdoe2,Section B,,0\n',
        encoding="utf-8-sig",
    )
    roster = rosters.read(path)
    assert roster.kind == "canvas" and list(roster.students) == ["1111", "2222"]
    assert roster.points == {"Student": "Points Possible", "Lab 1 (77)": "14", "Current Points": "(read only)"}
    jane = roster.students["2222"]
    assert jane.name == "Doe, Jane"
    assert jane.ids == {"canvas_user_id": "2222", "sis_user_id": "S2", "sis_login_id": "jdoe2", "section": "Section B"}
    assert rosters.Roster.from_json(roster.to_json()) == roster


def test_moodle_worksheet_keys_and_times(tmp_path):
    path = tmp_path / "moodle.csv"
    path.write_text(
        "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
        "Last modified (submission),Last modified (grade),Feedback comments\n"
        'Participant 501,Jane Doe,jane@example.edu,Submitted,,14.00,Yes,"Monday, 2 March 2026, 11:41 PM",-,\n'
        'Participant 502,Bo Li,bo@example.edu,Submitted,,14.00,Yes,"lundi 2 mars 2026, 23:41",-,\n'
    )
    roster = rosters.read(path, PARIS)
    assert roster.kind == "moodle" and list(roster.students) == ["501", "502"]
    assert roster.students["501"].submitted_at == "2026-03-02T23:41:00+01:00"
    assert roster.students["502"].submitted_at is None
    assert roster.warnings == [
        "--roster moodle.csv line 3: the time 'lundi 2 mars 2026, 23:41' could not be read (set the course's "
        "time_zone; an English Moodle writes 'Monday, 2 March 2026, 11:41 PM')"
    ]


def test_blackboard_utf16_tab_download_gradescope_roster_and_a_plain_one(tmp_path):
    blackboard = tmp_path / "gc.xls"
    blackboard.write_bytes(
        '"Last Name"\t"First Name"\t"Username"\t"Student ID"\t"Lab 1 [Total Pts: 14 Score] |8812"\n'
        '"Doe"\t"Jane"\t"j_doe"\t"2024001"\t""\n'.encode("utf-16")
    )
    roster = rosters.read(blackboard)
    assert roster.kind == "blackboard" and roster.students["j_doe"].name == "Jane Doe"
    gradescope = tmp_path / "gs.csv"
    gradescope.write_text("First Name,Last Name,SID,Email,Role,Sections\nJane,Doe,2024001,Jane@Example.edu,Student,\n")
    roster = rosters.read(gradescope)
    assert roster.kind == "gradescope" and list(roster.students) == ["jane@example.edu"]
    plain = tmp_path / "plain.csv"
    plain.write_text("student,name\nann,Ann Lee\nbob,\n")
    assert list(rosters.read(plain).students) == ["ann", "bob"]


def test_a_file_that_is_no_roster_or_names_a_student_twice_is_refused(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("First name,Last name,ID number,Email address\nJane,Doe,1,jane@example.edu\n")
    with pytest.raises(GradingError, match=r"not a roster this grader reads \(header First name, Last name, ID number"):
        rosters.read(other)
    twice = tmp_path / "twice.csv"
    twice.write_text("student,name\nann,Ann\nann,Ann again\n")
    with pytest.raises(GradingError, match="line 3 names 'ann' again"):
        rosters.read(twice)
    with pytest.raises(GradingError, match="no such file"):
        rosters.read(tmp_path / "nope.csv")
