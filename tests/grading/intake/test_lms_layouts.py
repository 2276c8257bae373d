"""Intake of each LMS's download (Canvas, Moodle, Gradescope, Blackboard, plain folders), on tiny downloads made
here: the student is the LMS user id with its ids and time, two users of one name stay two, resubmissions, the
`lab.submit` zip inside any layout, and every file the grader cannot place is reported."""

import datetime
import zipfile
from zoneinfo import ZoneInfo

import nbformat
import pytest
from grading_helpers import LAB, answered, released, write

from cnnlab.grading.errors import GradingError
from cnnlab.grading.intake import archive
from cnnlab.grading.intake import discover as intake
from cnnlab.grading.intake import roster as rosters
from cnnlab.grading.results.status import Status

NAME = f"{LAB}.ipynb"
PARIS = ZoneInfo("Europe/Paris")


def found(root, tmp_path, **options):
    submissions, warnings = intake.discover(root, LAB, NAME, ["lab0_tiny"], nested_dir=tmp_path / "nested", **options)
    return {s.student: s for s in submissions}, warnings


def submit_zip(path, student_inside, nb=None, models=()):
    """The zip `cnnlab.lab.submit` writes: <student>/<lab>/<lab>.ipynb and the models."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{student_inside}/{LAB}/{NAME}", nbformat.writes(nb or answered()))
        for model in models:
            zf.writestr(f"{student_inside}/{LAB}/{model}.keras", b"model bytes")
    return path


# -- Canvas --


def canvas_download(root):
    write(root / f"doejane_LATE_1111_9001_{NAME}", answered())
    write(root / f"doejane_2222_9002_{LAB}-1.ipynb", answered())  # same display name, another user
    write(root / f"doejane_2222_9003_{NAME}", released())  # its older upload, same submission
    submit_zip(root / f"roerick_3333_9004_s3333_{LAB}.zip", "s3333", models=["lab0_tiny"])
    write(root / "smithann_4444_text.html", b"<p>my answer</p>")
    write(root / f"anon_x9k2Q_9005_{NAME}", answered())
    write(root / "README.txt", b"not a submission")
    return root


def test_canvas_users_are_their_ids_and_two_users_of_one_name_stay_two(tmp_path):
    by, warnings = found(canvas_download(tmp_path / "dl"), tmp_path)
    assert sorted(by) == ["1111", "2222", "3333", "4444"]
    assert {s.layout for s in by.values()} == {"canvas"}
    jane1, jane2 = by["1111"], by["2222"]
    assert jane1.name == jane2.name == "doejane" and jane1.slug != jane2.slug
    assert jane1.ids == {"canvas_user_id": "1111", "canvas_name": "doejane", "canvas_attachment_id": "9001"}
    assert jane1.lms_late is True and jane2.lms_late is False
    assert jane1.submitted_at is None and jane1.time_source.startswith("none: Canvas's download names no")
    assert jane2.notebook.name == f"doejane_2222_9002_{LAB}-1.ipynb" and jane2.ids["canvas_attachment_id"] == "9002"
    assert jane2.notes == [
        f"graded doejane_2222_9002_{LAB}-1.ipynb, the newest (resubmission 1); left out the older "
        f"doejane_2222_9003_{NAME}"
    ]
    assert by["4444"].status == Status.MISSING and by["4444"].notebook is None
    assert warnings == [
        "could not place README.txt: not named as Canvas names a submission (<name>_<user id>_...)",
        f"could not place anon_x9k2Q_9005_{NAME}: an anonymous Canvas submission names no user: post the grades "
        f"or reveal the students' names in Canvas, then download the submissions again",
    ]


def test_the_lab_submit_zip_is_graded_from_a_canvas_download_and_the_lms_id_wins(tmp_path):
    by, _ = found(canvas_download(tmp_path / "dl"), tmp_path)
    rick = by["3333"]
    assert rick.notebook.name == NAME and rick.notebook.is_relative_to(tmp_path / "nested")
    assert list(rick.files) == ["lab0_tiny.keras"] and rick.files["lab0_tiny.keras"].read_bytes() == b"model bytes"
    assert rick.ids["canvas_attachment_id"] == "9004"  # the zip's: Canvas's re-upload attaches to that file
    assert rick.notes == [
        f"roerick_3333_9004_s3333_{LAB}.zip holds the folder of 's3333'; graded as 3333 (the LMS's id wins)"
    ]


def test_a_download_zipped_in_one_folder_is_read_inside_it_and_lms_names_the_layout(tmp_path):
    canvas_download(tmp_path / "dl" / "submissions")
    assert intake.detect(tmp_path / "dl") == ("canvas", tmp_path / "dl" / "submissions")
    by, _ = found(tmp_path / "dl", tmp_path, lms="canvas")
    assert "1111" in by
    with pytest.raises(GradingError, match="--lms blackbored: unknown; expected one of canvas, moodle"):
        found(tmp_path / "dl", tmp_path, lms="blackbored")


# -- Moodle --


def test_moodle_folders_and_flat_files_are_keyed_by_participant_id(tmp_path):
    root = tmp_path / "dl"
    write(root / "Jane Doe_501_assignsubmission_file_" / NAME, answered())  # Moodle 3.1 to 4.0
    write(root / "Jane Doe_502_assignsubmission_file" / "work" / NAME, answered())  # 4.1 on, subfolders kept
    submit_zip(root / "Ann_Marie Lee_503_assignsubmission_file_" / f"s503_{LAB}.zip", "s503")
    write(root / f"Bo Li_504_assignsubmission_file_{NAME}", answered())  # "in folders" turned off
    write(root / "Cy Ng_505_assignsubmission_onlinetext_" / "onlinetext.html", b"<p>text</p>")
    by, warnings = found(root, tmp_path)
    assert sorted(by) == ["501", "502", "503", "504", "505"] and not warnings
    assert by["501"].name == by["502"].name == "Jane Doe" and by["503"].name == "Ann_Marie Lee"
    assert by["502"].notebook.parts[-2:] == ("work", NAME)
    assert by["503"].notebook.is_relative_to(tmp_path / "nested")
    assert by["504"].notebook.name == f"Bo Li_504_assignsubmission_file_{NAME}"
    assert by["505"].notebook is None and by["505"].status == Status.MISSING
    assert by["501"].ids == {"moodle_participant_id": "501"} and by["501"].submitted_at is None


def test_moodle_times_come_from_the_grading_worksheet(tmp_path):
    root = tmp_path / "dl"
    write(root / "Jane Doe_501_assignsubmission_file_" / NAME, answered())
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text(
        "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
        "Last modified (submission),Last modified (grade),Feedback comments\n"
        "Participant 501,Jane Doe,jane@example.edu,Submitted for grading,,14.00,Yes,"
        '"Tuesday, 3 March 2026, 12:41 AM",-,\n'
        "Participant 502,Bo Li,bo@example.edu,No submission,,14.00,Yes,-,-,\n"
    )
    by, _ = found(root, tmp_path, roster=rosters.read(sheet, PARIS), time_zone=PARIS)
    jane = by["501"]
    assert jane.submitted_at == "2026-03-03T00:41:00+01:00"
    assert jane.time_source == "Moodle's grading worksheet (Last modified (submission))"
    assert jane.ids["email"] == "jane@example.edu" and jane.ids["identifier"] == "Participant 501"
    assert (
        by["502"].status == Status.MISSING and by["502"].missing_reason == f"nothing for {LAB} in the moodle download"
    )


# -- Gradescope --


METADATA = """\
submission_71:
  :submitters:
  - :name: Jane Doe
    :sid: '2024001'
    :email: Jane@Example.edu
  :created_at: 2026-03-02 23:41:07.512345678 +01:00
  :score: !ruby/object:BigDecimal 18:0.1e2
submission_72:
  :submitters:
  - :name: Bo Li
    :sid: '2024002'
    :email: bo@example.edu
  - :name: Cy Ng
    :sid: '2024003'
    :email: cy@example.edu
  :created_at: 2026-03-03 10:00:00.000000000 +01:00
submission_73:
  :submitters:
  - :name: Di Wu
    :sid: '2024004'
    :email: di@example.edu
  :created_at: 2026-03-01 09:00:00.000000000 +01:00
"""


def test_gradescope_export_reads_its_metadata_for_ids_times_and_group_members(tmp_path):
    root = tmp_path / "dl" / "assignment_9_export"
    write(root / "submission_metadata.yml", METADATA.encode())
    write(root / "submission_71" / NAME, answered())
    submit_zip(root / "submission_72" / f"bo_{LAB}.zip", "bo")
    write(root / "submission_99" / NAME, answered())
    by, warnings = found(tmp_path / "dl", tmp_path)
    assert sorted(by) == ["bo@example.edu", "cy@example.edu", "di@example.edu", "jane@example.edu"]
    jane = by["jane@example.edu"]
    assert jane.layout == "gradescope" and jane.name == "Jane Doe"
    assert jane.ids == {
        "gradescope_submission_id": "71",
        "gradescope_email": "jane@example.edu",
        "gradescope_sid": "2024001",
    }
    assert jane.submitted_at == "2026-03-02T23:41:07.512345+01:00"
    assert jane.time_source == "Gradescope's submission_metadata.yml (:created_at)"
    assert by["bo@example.edu"].notebook == by["cy@example.edu"].notebook  # one group submission, two rows
    assert by["di@example.edu"].notebook is None
    assert by["di@example.edu"].missing_reason == "no notebook for this lab in submission_73/"
    assert warnings == ["could not place submission_99: not listed in submission_metadata.yml"]


# -- Blackboard --


def test_blackboard_names_give_username_and_time_and_the_latest_attempt_is_graded(tmp_path):
    root = tmp_path / "dl"
    receipt = (
        "Name: Jane Doe (j_doe)\nAssignment: Lab_1\nDate Submitted: Tuesday, 3 March 2026 00:41:07 o'clock CET\n"
        "Current Mark: Needs Marking\n\nFiles:\n\tOriginal filename: {lab}.ipynb\n"
    )
    for stamp in ("2026-03-01-10-00-00", "2026-03-03-00-41-07"):
        write(root / f"Lab_1_j_doe_attempt_{stamp}.txt", receipt.format(lab=LAB).encode())
        write(root / f"Lab_1_j_doe_attempt_{stamp}_{NAME}", answered())
    write(root / f"Lab_1_bo_attempt_2026-03-02-12-00-00_{NAME}", answered())
    by, warnings = found(root, tmp_path, time_zone=PARIS)
    assert sorted(by) == ["bo", "j_doe"] and not warnings
    jane = by["j_doe"]
    assert jane.name == "Jane Doe" and jane.layout == "blackboard"
    assert jane.notebook.name == f"Lab_1_j_doe_attempt_2026-03-03-00-41-07_{NAME}"
    assert jane.submitted_at == "2026-03-03T00:41:07+01:00"
    assert jane.ids == {"blackboard_username": "j_doe", "blackboard_attempt": "2026-03-03-00-41-07"}
    assert jane.notes == ["graded the latest attempt (2026-03-03-00-41-07); left out the older 2026-03-01-10-00-00"]


# -- plain folders --


def test_plain_folders_open_the_lab_submit_zip_of_each_student(tmp_path):
    root = tmp_path / "dl"
    submit_zip(root / f"ann_{LAB}.zip", "ann", models=["lab0_tiny"])
    write(root / "bob" / LAB / NAME, answered())
    by, warnings = found(root, tmp_path)
    assert sorted(by) == ["ann", "bob"] and not warnings
    assert by["ann"].layout == "folders" and by["ann"].notebook.is_relative_to(tmp_path / "nested")
    assert list(by["ann"].files) == ["lab0_tiny.keras"] and by["ann"].notes == []


def test_a_nested_zip_is_opened_with_the_outer_limits(tmp_path, monkeypatch):
    root = tmp_path / "dl"
    with zipfile.ZipFile(write(root / "ann" / "x", b"").with_name(f"ann_{LAB}.zip"), "w") as zf:
        zf.writestr(f"ann/{LAB}/{NAME}", nbformat.writes(answered()))
        zf.writestr("../escape.txt", "outside")
        zf.writestr(f"ann/{LAB}/inner.zip", b"PK")
    (root / "ann" / "x").unlink()
    by, _ = found(root, tmp_path)
    assert by["ann"].notebook is not None and not (tmp_path / "escape.txt").exists()
    assert by["ann"].notes == [
        f"ann_{LAB}.zip: left out members with an absolute path or '..': ../escape.txt",
        f"ann_{LAB}.zip: zips inside a zip are not opened (inner.zip)",
    ]
    monkeypatch.setattr(archive, "MAX_ZIP_BYTES", 10)
    by, _ = found(root, tmp_path / "again")
    assert by["ann"].notebook is None and by["ann"].status == Status.MISSING
    assert by["ann"].missing_reason.startswith(
        "no notebook for this lab in ann/; could not open ann_lab1_convolution.zip ("
    )
    assert "unpacks to 0.0 GB, over the grader's 0 GB" in by["ann"].missing_reason


# -- rosters with downloads --


def canvas_roster(path, *rows):
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section,Lab 1 (77)", "    Points Possible,,,,,14"]
    path.write_text("\n".join(lines + list(rows)) + "\n", encoding="utf-8-sig")
    return path


def test_the_roster_gives_every_enrolled_student_a_row_and_its_names(tmp_path):
    root = canvas_download(tmp_path / "dl")
    roster = rosters.read(
        canvas_roster(
            tmp_path / "roster.csv",
            '"Doe, Jane",1111,S1,jdoe,A,',
            '"Doe, Jane",2222,S2,jdoe2,B,',
            '"Roe, Rick",3333,S3,rroe,A,',
            '"Ng, Cy",5555,S5,cng,B,',
        )
    )
    by, warnings = found(root, tmp_path, roster=roster)
    assert sorted(by) == ["1111", "2222", "3333", "4444", "5555"]
    assert by["5555"].status == Status.MISSING and by["5555"].name == "Ng, Cy"
    assert by["5555"].missing_reason == f"nothing for {LAB} in the canvas download"
    assert by["2222"].name == "Doe, Jane" and by["2222"].ids["section"] == "B" and by["2222"].ids["sis_user_id"] == "S2"
    assert "4444 (smithann) handed in for this lab but is not in the roster" in " ".join(warnings)
    moodle_sheet = tmp_path / "sheet.csv"
    moodle_sheet.write_text("Identifier,Full name,Grade\nParticipant 1,Jane Doe,\n")
    with pytest.raises(GradingError, match="is a moodle roster, but the download is read as canvas"):
        found(root, tmp_path, roster=rosters.read(moodle_sheet))


def test_zip_member_times_are_kept_on_unpacking(tmp_path):
    archive_path = tmp_path / "class.zip"
    with zipfile.ZipFile(archive_path, "w") as zf:
        zf.writestr(zipfile.ZipInfo(f"ann/{LAB}/{NAME}", (2026, 3, 2, 10, 0, 0)), nbformat.writes(answered()))
    root = archive.unpack(archive_path, tmp_path / "imported")
    stamp = datetime.datetime.fromtimestamp((root / "ann" / LAB / NAME).stat().st_mtime)
    assert stamp == datetime.datetime(2026, 3, 2, 10, 0, 0)
