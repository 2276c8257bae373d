"""The files an instructor uploads, checked cell by cell against each LMS's documented import format:

- Canvas's gradebook import (Canvas Instructor Guide, "How do I import grades in the Gradebook?"; canvas-lms
  lib/gradebook_importer.rb: header `Student, ID, SIS User ID, SIS Login ID, Section`, then `<title> (<id>)`), and
  its "Re-upload submissions" zip (canvas-lms Assignment#infer_comment_context_from_filename: the first two numbers
  between underscores are the user id and the attachment id);
- Moodle's offline grading worksheet (mod/assign/feedback/offline/importgradeslib.php: `Identifier`
  "Participant <id>", `Grade`, `Last modified (grade)`) and its feedback files zip
  (mod/assign/feedback/file/importziplib.php: the folder's second `_` part is the participant id);
- the plain per-test CSV, the grade at the top of the feedback page, and nbgrader's gradebook, whose score minus
  late penalty is the exported grade.
"""

import csv
import io
import re
import zipfile

import pytest

from cnnlab.grading.results import feedback_page, gradebook, tests_table
from cnnlab.grading.results.context import LabContext
from cnnlab.grading.results.final import final_grade
from cnnlab.grading.results.lms import canvas, moodle
from cnnlab.grading.results.overrides import Override
from cnnlab.grading.results.result import GradingResult

LAB = "lab1_convolution"
LATE = {"percent": 10.0, "of": "points", "sentence": "1 started day", "submitted_at": "2026-03-03T09:00:00+01:00",
        "due": "2026-03-02T23:59:00+01:00", "extended": False, "time_source": "a test"}  # fmt: skip


def result(student, ids, name, status="graded", a=2.0, b=2.0, late=None):
    return GradingResult(
        student,
        LAB,
        4.0,
        "test",
        status=status,
        score=a + b,
        reason=f"{a + b:g} of 4 points.",
        cells=[
            {"grade_id": "test_a", "points": 2.0, "score": a, "state": "passed"},
            {"grade_id": "test_b", "points": 2.0, "score": b, "state": "passed"},
        ]
        if status != "missing"
        else [],
        submission={"name": name, "layout": "canvas", "ids": ids, "submitted_at": (late or {}).get("submitted_at")},
        late=late or {},
    )


def finals_of(results, kept=()):
    return {r.student: final_grade(r, r.late or {}, [o for o in kept if o.student == r.student]) for r in results}


def canvas_class():
    results = [
        result(
            "1111",
            {
                "canvas_user_id": "1111",
                "canvas_name": "doejane",
                "canvas_attachment_id": "9001",
                "sis_user_id": "S1",
                "sis_login_id": "jdoe",
                "section": "A",
            },
            "Doe, Jane",
            late=LATE,
        ),  # fmt: skip
        result(
            "2222",
            {
                "canvas_user_id": "2222",
                "canvas_name": "doejane",
                "canvas_attachment_id": "9002",
                "sis_user_id": "S2",
                "sis_login_id": "jdoe2",
                "section": "B",
            },
            "Doe, Jane",
            b=0.5,
        ),  # fmt: skip
        result(
            "3333",
            {"canvas_user_id": "3333", "sis_user_id": "S3", "section": "A"},
            "Roe, Rick",
            status="missing",
            a=0,
            b=0,
        ),
        result(
            "4444",
            {"canvas_user_id": "4444", "canvas_name": "ngcy", "canvas_attachment_id": "9004"},
            "Ng, Cy",
            status="grader_error",
        ),
    ]
    roster = {
        "kind": "canvas",
        "header": ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 1 (77)"],
        "points": {"Lab 1 (77)": "4"},
        "students": {
            s: {"name": n, "ids": {}}
            for s, n in (("3333", "Roe, Rick"), ("1111", "Doe, Jane"), ("2222", "Doe, Jane"), ("4444", "Ng, Cy"))
        },
    }
    context = LabContext(LAB, "canvas", roster, {"canvas_column": "Lab 1 (77)"})
    kept = [Override("2222", LAB, "test_b", "+1", "accepted", "JD", 2)]
    return results, finals_of(results, kept), context


def parse_csv(text):
    return list(csv.reader(io.StringIO(text)))


def test_canvas_gradebook_import_cell_by_cell(tmp_path):
    results, finals, context = canvas_class()
    notes = canvas.write_gradebook(tmp_path / "canvas.csv", finals, results, context)
    rows = parse_csv((tmp_path / "canvas.csv").read_text())
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 1 (77)"],
        ["Roe, Rick", "3333", "S3", "", "A", "0"],
        ["Doe, Jane", "1111", "S1", "jdoe", "A", "3.6"],  # 4 less 10% of 4 points
        ["Doe, Jane", "2222", "S2", "jdoe2", "B", "3.5"],  # 2.5 and the override's +1
        ["Ng, Cy", "4444", "", "", "", ""],  # no score: the blank cell leaves Canvas's grade as it is
    ]
    assert notes == []
    # what canvas-lms's importer checks: the header's student columns, an ID on every row, numbers or blanks
    header = rows[0]
    assert "Student" in header[0] and "ID" in header[1] and "Section" in header[4]
    assert re.fullmatch(r".+ \((\d+)\)", header[5])
    assert all(row[1].isdigit() and re.fullmatch(r"(\d+(\.\d{1,2})?)?", row[5]) for row in rows[1:])


def test_canvas_column_and_scale_when_the_course_did_not_name_or_size_them(tmp_path):
    results, finals, context = canvas_class()
    context.rules, context.roster["points"] = {}, {"lab1_convolution (77)": "100"}
    context.roster["header"][5] = "lab1_convolution (77)"
    rows, notes = canvas.gradebook(finals, results, context)
    assert rows[0][5] == "lab1_convolution (77)" and rows[2][5] == "90"  # the roster's column, scaled to 100
    assert notes == [
        "Canvas: the column 'lab1_convolution (77)' is worth 100 points and lab1_convolution 4: the gradebook "
        "file's grades are scaled to 100"
    ]
    context.roster = None
    rows, notes = canvas.gradebook(finals, results, context)
    assert rows[0][5] == LAB and notes[0].startswith("Canvas: no canvas_column for lab1_convolution in course.toml")


def canvas_reupload(name):
    """canvas-lms Assignment#infer_comment_context_from_filename: (user id, attachment id) of an uploaded file."""
    numbers = [part for part in name.split("_") if re.fullmatch(r"\d+", part)][:2]
    return tuple(numbers) if len(numbers) == 2 else None


def test_canvas_reupload_zip_names_each_user_and_their_file(tmp_path):
    results, finals, _ = canvas_class()
    pages = tmp_path / "pages"
    for r in results:
        (pages / r.student).mkdir(parents=True)
        (pages / r.student / "page.html").write_text(f"<html><body>{r.student}</body></html>")
    notes = canvas.write_feedback(tmp_path / "canvas.zip", results, lambda r: pages / r.student / "page.html")
    with zipfile.ZipFile(tmp_path / "canvas.zip") as zf:
        members = {name: zf.read(name).decode() for name in zf.namelist()}
    assert sorted(members) == [
        "doejane_1111_9001_feedback_lab1_convolution.html",
        "doejane_2222_9002_feedback_lab1_convolution.html",
        "ngcy_4444_9004_feedback_lab1_convolution.html",
    ]
    assert {canvas_reupload(name): body for name, body in members.items()} == {
        ("1111", "9001"): "<html><body>1111</body></html>",
        ("2222", "9002"): "<html><body>2222</body></html>",
        ("4444", "9004"): "<html><body>4444</body></html>",
    }
    assert notes == [
        "Canvas feedback zip: no file for 3333 (nothing handed in, so Canvas has no file of theirs to attach "
        "feedback to)"
    ]


WORKSHEET_HEADER = moodle.HEADER


def moodle_class(with_roster):
    results = [
        result("501", {"moodle_participant_id": "501"}, "Jane Doe", late=LATE),
        result("502", {"moodle_participant_id": "502"}, "Bo_Li", b=1.0),
        result("503", {"moodle_participant_id": "503"}, "Cy Ng", status="missing", a=0, b=0),
    ]
    roster = None
    if with_roster:
        rows = [
            ["Participant 501", "Jane Doe", "jane@example.edu", "Submitted", "", "4.00", "Yes", "x", "-", ""],
            ["Participant 503", "Cy Ng", "cy@example.edu", "No submission", "", "4.00", "Yes", "-", "-", "see me"],
            ["Participant 502", "Bo_Li", "bo@example.edu", "Submitted", "", "4.00", "Yes", "x", "2 March", ""],
        ]
        roster = {"kind": "moodle", "header": list(WORKSHEET_HEADER), "rows": rows, "students": {}}
    return results, finals_of(results), LabContext(LAB, "moodle", roster, {})


def moodle_import(rows):
    """importgradeslib.php: the columns it needs and, per row, (participant id, grade)."""
    header = rows[0]
    for needed in ("Identifier", "Grade", "Last modified (grade)"):
        assert needed in header
    identifier, grade = header.index("Identifier"), header.index("Grade")
    return {row[identifier][len("Participant ") :]: row[grade] for row in rows[1:]}


def test_moodle_worksheet_written_back_row_for_row_and_cell_by_cell(tmp_path):
    results, finals, context = moodle_class(with_roster=True)
    notes = moodle.write_worksheet(tmp_path / "ws.csv", finals, results, context)
    rows = parse_csv((tmp_path / "ws.csv").read_text())
    assert rows[0] == WORKSHEET_HEADER
    assert [r[:9] for r in rows[1:]] == [
        ["Participant 501", "Jane Doe", "jane@example.edu", "Submitted", "3.6", "4.00", "Yes", "x", "-"],
        ["Participant 503", "Cy Ng", "cy@example.edu", "No submission", "0", "4.00", "Yes", "-", "-"],
        ["Participant 502", "Bo_Li", "bo@example.edu", "Submitted", "3", "4.00", "Yes", "x", "2 March"],
    ]
    assert [r[9] for r in rows[1:]] == [
        "Tests 4/4; late penalty -0.4; grade 3.6/4. The attached page has the details.",
        "see me",  # an instructor's comment is kept
        "Tests 3/4; grade 3/4. The attached page has the details.",
    ]
    assert moodle_import(rows) == {"501": "3.6", "503": "0", "502": "3"} and notes == []


def test_moodle_worksheet_without_a_roster_and_scaled_to_moodle_s_maximum(tmp_path):
    results, finals, context = moodle_class(with_roster=False)
    rows, notes = moodle.worksheet(finals, results, context)
    assert rows[0] == WORKSHEET_HEADER
    assert rows[1] == ["Participant 501", "Jane Doe", "", "", "3.6", "4", "Yes", "", "-", rows[1][9]]
    assert moodle_import(rows) == {"501": "3.6", "502": "3", "503": "0"} and notes == []
    results, finals, context = moodle_class(with_roster=True)
    for row in context.roster["rows"]:
        row[5] = "100.00"
    rows, notes = moodle.worksheet(finals, results, context)
    assert moodle_import(rows) == {"501": "90", "503": "0", "502": "75"}
    assert notes == [
        "Moodle: the worksheet's maximum grade is 100 and lab1_convolution's points 4: its grades are scaled"
    ]


def moodle_feedback_owner(member):
    """importziplib.php is_valid_filename_for_import: the participant id of a file in the feedback zip."""
    for part in member.split("/"):
        info = part.split("_", 4)
        if len(info) >= 4 and info[1].isdigit():
            return info[1], f"{info[2]}_{info[3]}"
    return None


def test_moodle_feedback_zip_folders_name_each_participant(tmp_path):
    results, _, _ = moodle_class(with_roster=False)
    page = tmp_path / "page.html"
    page.write_text("<html></html>")
    moodle.write_feedback(tmp_path / "moodle.zip", results, lambda r: page)
    with zipfile.ZipFile(tmp_path / "moodle.zip") as zf:
        names = zf.namelist()
    assert names == [
        "Jane Doe_501_assignsubmission_file_/feedback_lab1_convolution.html",
        "Bo Li_502_assignsubmission_file_/feedback_lab1_convolution.html",  # Moodle splits the name at '_'
        "Cy Ng_503_assignsubmission_file_/feedback_lab1_convolution.html",
    ]
    assert [moodle_feedback_owner(n) for n in names] == [(p, "assignsubmission_file") for p in ("501", "502", "503")]


def test_the_per_test_table(tmp_path):
    results, finals, _ = canvas_class()
    tests_table.write(tmp_path / "tests.csv", finals, results)
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO((tmp_path / "tests.csv").read_text()))}
    assert list(rows["1111"])[:4] == ["student", "name", "layout", "canvas_attachment_id"]
    columns = ("test_a", "test_b", "automatic_score", "late_penalty", "final_score")
    assert [rows["2222"][k] for k in columns] == ["2", "1.5", "2.5", "0", "3.5"]
    assert rows["2222"]["overrides"] == "test_b +1: accepted (JD)"
    assert (rows["1111"]["late_penalty"], rows["1111"]["final_score"], rows["1111"]["late"]) == (
        "0.4",
        "3.6",
        "1 started day",
    )
    assert (rows["3333"]["status"], rows["3333"]["test_a"], rows["4444"]["final_score"]) == ("missing", "", "")


def test_the_grade_block_tops_the_feedback_page_once_and_escapes_what_it_shows(tmp_path):
    results, finals, _ = canvas_class()
    page = tmp_path / "page.html"
    page.write_text("<html><head></head><body class='x'><div>the notebook</div></body></html>")
    who = {"name": "<b>Doe</b>, Jane"}
    assert feedback_page.write_header(page, finals["2222"], who)
    first = page.read_text()
    assert first.index(feedback_page.BEGIN) > first.index("<body class='x'>") and "&lt;b&gt;Doe&lt;/b&gt;" in first
    assert "lab1_convolution: 3.5 / 4" in first and "test_b, 0.5 to 1.5" in first and ">accepted<" in first
    assert not feedback_page.write_header(page, finals["2222"], who)  # the same grade: nothing written
    assert feedback_page.write_header(page, finals["1111"], who)
    text = page.read_text()
    assert text.count(feedback_page.BEGIN) == 1 and "3.6 / 4" in text and "Late penalty" in text
    finals["1111"].comments = ["Neat <code>, see me"]  # the hand-grading hook (store.write_outputs' comments)
    assert feedback_page.write_header(page, finals["1111"], who)
    assert "<h3>Comments from your instructors</h3><p>Neat &lt;code&gt;, see me</p>" in page.read_text()


@pytest.fixture
def db(tmp_path):
    from nbgrader.api import Gradebook

    path = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment(LAB)
        gb.add_notebook(LAB, LAB)
        for name in ("test_a", "test_b"):
            gb.add_grade_cell(name, LAB, LAB, max_score=2, cell_type="code")
    return path


def test_nbgrader_s_score_less_its_penalty_is_the_exported_grade(db):
    from nbgrader.api import Gradebook

    results, finals, _ = canvas_class()
    finals["1111"] = final_grade(results[0], LATE, [Override("1111", LAB, "total", "+0.2", "bonus", "JD", 3)])
    gradebook.write(db, results)
    gradebook.write_final(db, LAB, finals, due="2026-03-02T23:59:00+01:00")
    gradebook.write_final(db, LAB, finals, due="2026-03-02T23:59:00+01:00")  # nothing changes the second time
    with Gradebook(f"sqlite:///{db}") as gb:
        kept = {
            s.student.id: round(s.score - s.late_submission_penalty, 6) for s in gb.find_assignment(LAB).submissions
        }
        jane = gb.find_submission(LAB, "1111")
        assert (
            str(jane.timestamp) == "2026-03-03 08:00:00"
            and str(gb.find_assignment(LAB).duedate) == "2026-03-02 22:59:00"
        )
    assert kept == {s: finals[s].final for s in ("1111", "2222", "3333")}  # 4444's grader error is not in it
    assert kept == {"1111": 3.8, "2222": 3.5, "3333": 0.0}
    assert gradebook.sync(db, LAB, results) == []  # overrides are not "repaired" away
