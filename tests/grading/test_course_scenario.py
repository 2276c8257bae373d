"""A term of lab 1, graded twice from the two LMSs that hand it in: a Canvas download and a Moodle download of the
same class, each with its roster, and every exported grade checked file by file.

The class: two students with one display name (one with a resubmission), a `lab.submit` zip, a late submission
(Canvas's LATE marker; Moodle's worksheet time, two days late), a late one within an extension, one who handed in
nothing, one whose notebook is from release 1 of the lab while the course is at release 2 (a helper added to the
imports cell, which the test's probe now uses), and one who edited the lines the course changed. Overrides: a total
and a test, kept over a rerun; `export` applies a new one without grading; `--student` regrades one student.

Behind the `course` marker (`make test-course`, run by .ci/run): two lab-1 batches of 7 and 6 students.
"""

import copy
import csv
import io
import re
import shutil
import zipfile

import nbformat
import pytest
from grading_helpers import LAB, ROOT, answered, index_of, write

from cnnlab import lab as cnnlab_lab
from cnnlab.grading.cli import main
from cnnlab.grading.course import releases
from cnnlab.grading.results import store

pytestmark = pytest.mark.course
NAME = f"{LAB}.ipynb"
IMPORTS = "8aa6b2bf"
HELPER = "def impulse_image(n):\n    x = np.zeros((n, n))\n    x[n // 2, n // 2] = 1\n    return x"
COURSE = """
[grading]
time_zone = "Europe/Paris"
overrides = "overrides.csv"

[grading.late]
grace_minutes = 15
per = "day"
penalty_percent = 10
cap_percent = 50
lms_late_marker = "minimum"

[labs.lab1_convolution]
due = "2026-03-02 23:59"
canvas_column = "Lab 1: Convolution (4521)"

[labs.lab1_convolution.extensions]
"4444" = "2026-03-05 23:59"
"504" = "2026-03-05 23:59"
"""
OVERRIDES = """student,lab,test,points,reason,who
1111,lab1_convolution,total,-1,a copied figure,JD
501,lab1_convolution,total,-1,a copied figure,JD
4444,lab1_convolution,test_conv1x1,1,"the right idea, transposed",TA
504,lab1_convolution,test_conv1x1,1,"the right idea, transposed",TA
"""


def cell(nb, key):
    return next(c for c in nb.cells if c.get("id") == key)


def course_change(tmp):
    """Release 2 of lab 1: the imports cell defines `impulse_image`, and test_conv2d's probe uses it. Returns
    (the course's source folder, its releases folder, release 1's notebook, release 2's)."""
    source = tmp / "source"
    shutil.copytree(ROOT / "solutions" / LAB, source / LAB)
    solution = nbformat.read(source / LAB / NAME, as_version=4)
    cell(solution, IMPORTS).source += "\n\n" + HELPER
    test = solution.cells[index_of(solution, "test_conv2d")]
    probe = "### BEGIN PROBE\nh = np.arange(1, 10).reshape(3, 3)\nimpulse = np.zeros((5, 5))\nimpulse[2, 2] = 1\n"
    assert probe in test.source
    test.source = test.source.replace(
        probe, "### BEGIN PROBE\nh = np.arange(1, 10).reshape(3, 3)\nimpulse = impulse_image(5)\n"
    )
    nbformat.write(solution, source / LAB / NAME)
    kept = tmp / "releases" / LAB
    one = nbformat.read(ROOT / "labs" / LAB / NAME, as_version=4)
    two = copy.deepcopy(one)
    cell(two, IMPORTS).source += "\n\n" + HELPER
    releases.stamp(two, 2)
    write(kept / "1" / NAME, one)
    write(kept / "2" / NAME, two)
    return source, tmp / "releases", kept / "1" / NAME, kept / "2" / NAME


def notebooks(source, release_one, release_two):
    """The class's notebooks, by who they are."""
    solution = source / LAB / NAME
    good = answered(LAB, source=solution, release=release_two)
    wrong = copy.deepcopy(good)
    wrong.cells[index_of(wrong, "conv1x1")].source = "def conv1x1(x, w, b):\n    return x @ w"
    old = answered(LAB, source=solution, release=release_one)
    edited = copy.deepcopy(old)
    cell(edited, IMPORTS).source = cell(old, IMPORTS).source.replace("precision=3", "precision=4")
    blank = nbformat.read(release_two, as_version=4)
    return {"good": good, "wrong": wrong, "old": old, "edited": edited, "blank": blank}


def lab_submit_zip(tmp, nb, student):
    """The zip `cnnlab.lab.submit` writes for `student`."""
    folder = tmp / f"submit-{student}"
    write(folder / NAME, nb)
    outcome = cnnlab_lab.submit(LAB, student, directory=folder)
    assert outcome["problems"] == [], outcome
    return outcome["zip"]


def canvas_download(tmp, nbs):
    root = tmp / "canvas"
    write(root / f"doejane_1111_9001_{NAME}", nbs["good"])
    write(root / f"doejane_2222_9002_{NAME}", nbs["blank"])  # Jane Doe again: another user, a first try
    write(root / f"doejane_2222_9003_{LAB}-1.ipynb", nbs["good"])  # ... and her resubmission
    shutil.copy(lab_submit_zip(tmp, nbs["good"], "s3333"), root / f"roerick_LATE_3333_9004_s3333_{LAB}.zip")
    write(root / f"ngcy_LATE_4444_9005_{NAME}", nbs["wrong"])  # late, within an extension
    write(root / f"wudi_6666_9006_{NAME}", nbs["old"])  # release 1
    write(root / f"kimlee_7777_9007_{NAME}", nbs["edited"])  # release 1, the changed lines edited
    write(root / "notes.txt", b"a file no student's")
    roster = tmp / "canvas-roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,Lab 1: Convolution (4521),Current Points\n"
        "    Points Possible,,,,,14.00,(read only)\n"
        '"Doe, Jane",1111,S1111,jdoe,Group A,,\n"Doe, Jane",2222,S2222,jdoe2,Group B,,\n'
        '"Roe, Rick",3333,S3333,rroe,Group A,,\n"Ng, Cy",4444,S4444,cng,Group B,,\n'
        '"Li, Bo",5555,S5555,bli,Group A,,\n"Wu, Di",6666,S6666,dwu,Group B,,\n"Kim, Lee",7777,S7777,lkim,Group A,,\n',
        encoding="utf-8-sig",
    )
    return root, roster


def moodle_download(tmp, nbs):
    root = tmp / "moodle"
    write(root / "Jane Doe_501_assignsubmission_file_" / NAME, nbs["good"])
    write(root / "Jane Doe_502_assignsubmission_file_" / NAME, nbs["blank"])
    write(root / "Jane Doe_502_assignsubmission_file_" / f"{LAB}-1.ipynb", nbs["good"])
    zip_path = lab_submit_zip(tmp, nbs["good"], "s3333")
    write(root / "Rick Roe_503_assignsubmission_file_" / zip_path.name, zip_path.read_bytes())
    write(root / "Cy Ng_504_assignsubmission_file_" / NAME, nbs["wrong"])
    write(root / "Di Wu_506_assignsubmission_file_" / NAME, nbs["old"])
    worksheet = tmp / "moodle-worksheet.csv"
    header = (
        "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
        "Last modified (submission),Last modified (grade),Feedback comments"
    )
    rows = [
        ("501", "Jane Doe", "Monday, 2 March 2026, 11:00 PM"),
        ("502", "Jane Doe", "Monday, 2 March 2026, 11:30 PM"),
        ("503", "Rick Roe", "Wednesday, 4 March 2026, 10:00 PM"),  # 1 d 22 h late: two started days
        ("504", "Cy Ng", "Thursday, 5 March 2026, 9:00 AM"),  # within the extension
        ("505", "Bo Li", "-"),
        ("506", "Di Wu", "Monday, 2 March 2026, 10:00 PM"),
    ]
    lines = [header] + [
        f'Participant {p},{n},{p}@example.edu,Submitted for grading,,14.00,Yes,"{t}",-,' for p, n, t in rows
    ]
    worksheet.write_text("\n".join(lines) + "\n")
    return root, worksheet


def grade(lms, root, roster, out, course, source, kept, *extra):
    command = ["grade", "--lab", LAB, "--submissions", str(root), "--out", str(out), "--lms", lms]
    command += ["--roster", str(roster), "--course", str(course), "--source", str(source), "--releases", str(kept)]
    command += ["--workers", "2", "--timeout", "300", *extra]
    assert main(command) == 0


@pytest.fixture(scope="module")
def term_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("term")
    source, kept, one, two = course_change(tmp)
    (tmp / "course.toml").write_text(COURSE)
    (tmp / "overrides.csv").write_text(OVERRIDES)
    nbs = notebooks(source, one, two)
    runs = {}
    for lms, download in (("canvas", canvas_download), ("moodle", moodle_download)):
        root, roster = download(tmp, nbs)
        out = tmp / f"out-{lms}"
        grade(lms, root, roster, out, tmp / "course.toml", source, kept)
        runs[lms] = (root, roster, out)
    return tmp, source, kept, runs


def rows_of(path):
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def gradebook_finals(out):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        return {
            s.student.id: round(s.score - s.late_submission_penalty, 6) for s in gb.find_assignment(LAB).submissions
        }


CANVAS = {"1111": 13, "2222": 14, "3333": 12.6, "4444": 13, "5555": 0, "6666": 14, "7777": 12}
MOODLE = {"501": 13, "502": 14, "503": 11.2, "504": 13, "505": 0, "506": 14}


def test_canvas_gradebook_import_and_reupload_zip(term_class):
    _, _, _, runs = term_class
    out = runs["canvas"][2]
    assert rows_of(out / "exports" / LAB / "canvas-gradebook.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 1: Convolution (4521)"],
        ["Doe, Jane", "1111", "S1111", "jdoe", "Group A", "13"],
        ["Doe, Jane", "2222", "S2222", "jdoe2", "Group B", "14"],
        ["Roe, Rick", "3333", "S3333", "rroe", "Group A", "12.6"],
        ["Ng, Cy", "4444", "S4444", "cng", "Group B", "13"],
        ["Li, Bo", "5555", "S5555", "bli", "Group A", "0"],
        ["Wu, Di", "6666", "S6666", "dwu", "Group B", "14"],
        ["Kim, Lee", "7777", "S7777", "lkim", "Group A", "12"],
    ]
    with zipfile.ZipFile(out / "exports" / LAB / "canvas-feedback.zip") as zf:
        assert sorted(zf.namelist()) == [
            f"doejane_1111_9001_feedback_{LAB}.html",
            f"doejane_2222_9003_feedback_{LAB}.html",  # the resubmission's file
            f"kimlee_7777_9007_feedback_{LAB}.html",
            f"ngcy_4444_9005_feedback_{LAB}.html",
            f"roerick_3333_9004_feedback_{LAB}.html",  # the zip's file
            f"wudi_6666_9006_feedback_{LAB}.html",
        ]
        page = zf.read(f"roerick_3333_9004_feedback_{LAB}.html").decode()
    assert f"{LAB}: 12.6 / 14" in page and "Late penalty" in page and "one day&#x27;s (10% of the lab)" in page


def test_moodle_worksheet_and_feedback_zip(term_class):
    _, _, _, runs = term_class
    out = runs["moodle"][2]
    rows = rows_of(out / "exports" / LAB / "moodle-grading-worksheet.csv")
    assert rows[0][:5] == ["Identifier", "Full name", "Email address", "Status", "Grade"]
    assert {r[0]: r[4] for r in rows[1:]} == {f"Participant {p}": f"{g:g}" for p, g in MOODLE.items()}
    assert [r[8] for r in rows[1:]] == ["-"] * 6  # the worksheet's "Last modified (grade)", as Moodle wrote it
    with zipfile.ZipFile(out / "exports" / LAB / "moodle-feedback.zip") as zf:
        assert sorted(zf.namelist()) == sorted(
            f"{n}_{p}_assignsubmission_file_/feedback_{LAB}.html"
            for p, n in (
                ("501", "Jane Doe"),
                ("502", "Jane Doe"),
                ("503", "Rick Roe"),
                ("504", "Cy Ng"),
                ("505", "Bo Li"),
                ("506", "Di Wu"),
            )
        )
        page = zf.read(f"Rick Roe_503_assignsubmission_file_/feedback_{LAB}.html").decode()
    assert f"{LAB}: 11.2 / 14" in page and "1 d 22 h 1 min late, 2 started days at 10% each" in page


@pytest.mark.parametrize("lms, expected", [("canvas", CANVAS), ("moodle", MOODLE)])
def test_every_output_gives_the_same_final_grades(term_class, lms, expected):
    _, _, _, runs = term_class
    out = runs[lms][2]
    grades = {r["student"]: float(r["score"]) for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    tests = {
        r["student"]: float(r["final_score"]) for r in csv.DictReader(open(out / "exports" / LAB / f"{LAB}-tests.csv"))
    }
    assert grades == tests == {s: float(g) for s, g in expected.items()}
    assert gradebook_finals(out) == {s: float(g) for s, g in expected.items()}


def test_what_intake_and_the_course_change_did_is_said(term_class):
    _, _, _, runs = term_class
    out = runs["canvas"][2]
    results = {r.student: r for r in store.load_results(out)}
    assert (
        results["1111"].slug != results["2222"].slug
        and results["2222"].submission["ids"]["canvas_attachment_id"] == "9003"
    )
    assert results["3333"].reason.endswith(
        f"roerick_LATE_3333_9004_s3333_{LAB}.zip holds the folder of 's3333'; graded as 3333 (the LMS's id wins)."
    )
    assert "the grader brought the course's cells to release 2 (code cell 'import matplotlib.pyplot as plt')" in (
        results["6666"].reason
    )
    kim = results["7777"]
    assert "the course changed cells you had edited since release 1 (cell 4 ('import matplotlib" in kim.reason
    conv2d = next(c for c in kim.cells if c["grade_id"] == "test_conv2d")
    assert (
        conv2d["score"] == 0 and "this name may be the course's change, not a mistake in your code" in conv2d["message"]
    )
    assert results["5555"].status == "missing" and results["5555"].submission["name"] == "Li, Bo"
    report = (out / "report" / "report.md").read_text()
    assert "could not place notes.txt: not named as Canvas names a submission" in report
    assert "| 1111 | total -1 | 14 | 13 | a copied figure | JD |" in report
    assert "| 4444 | test_conv1x1 1 | 0 | 1 | the right idea, transposed | TA |" in report
    moodle = {r.student: r for r in store.load_results(runs["moodle"][2])}
    assert moodle["503"].submission["time_source"] == "Moodle's grading worksheet (Last modified (submission))"
    assert moodle["504"].late["extended"] and moodle["504"].late["units"] == 0


def test_a_rerun_keeps_every_grade_and_override_export_applies_a_new_one_and_student_regrades_one(term_class, capsys):
    tmp, source, kept, runs = term_class
    root, roster, out = runs["canvas"]
    before = (out / "exports" / LAB / "canvas-gradebook.csv").read_text()
    capsys.readouterr()
    grade("canvas", root, roster, out, tmp / "course.toml", source, kept)
    assert "7 already graded with the same files (kept); 0 to grade" in capsys.readouterr().out
    assert (out / "exports" / LAB / "canvas-gradebook.csv").read_text() == before
    with open(tmp / "overrides.csv", "a") as file:
        file.write("3333,lab1_convolution,total,+0.5,regrade request,JD\n")
    assert main(["export", "--out", str(out), "--course", str(tmp / "course.toml")]) == 0
    rows = {r[1]: r[5] for r in rows_of(out / "exports" / LAB / "canvas-gradebook.csv")[1:]}
    assert rows == {s: f"{g + 0.5 * (s == '3333'):g}" for s, g in CANVAS.items()}
    kept_results = {p.name: p.read_bytes() for p in (out / "results" / LAB).glob("*.json") if p.stem != "6666"}
    capsys.readouterr()
    grade("canvas", root, roster, out, tmp / "course.toml", source, kept, "--student", "6666")
    printed = capsys.readouterr().out
    assert re.search(r"\[1/1\] 6666: graded 14/14", printed) and "graded 1 submissions" in printed
    assert {p.name: p.read_bytes() for p in (out / "results" / LAB).glob("*.json") if p.stem != "6666"} == kept_results
    assert gradebook_finals(out)["3333"] == 13.1
