"""Intake of plain folders and zips made here: links refused at every level, Unicode ids, which of several
notebooks is graded (cnnlab.grading.intake)."""

import os
import stat
import time
import unicodedata
import zipfile

import nbformat
from grading_helpers import LAB, answered, released, write

from cnnlab.grading.intake import archive as archives
from cnnlab.grading.intake import discover as submissions
from cnnlab.grading.intake import ids
from cnnlab.grading.results.status import Status

NAME = f"{LAB}.ipynb"


def discover(root):
    found, warnings = submissions.discover(root, LAB, NAME, ["lab0_tiny"])
    return {s.student: s for s in found}, warnings


# -- links --


def test_links_are_refused_at_every_level_with_a_row_that_says_why(tmp_path):
    ann = write(tmp_path / "ann" / LAB / NAME, answered())
    (tmp_path / "bob").symlink_to(tmp_path / "ann", target_is_directory=True)  # the whole folder
    (tmp_path / "cy").mkdir()
    (tmp_path / "cy" / LAB).symlink_to(tmp_path / "ann" / LAB, target_is_directory=True)  # the lab folder
    write(tmp_path / "dee" / LAB / NAME, released())
    (tmp_path / "dee" / LAB / "labels.npz").symlink_to("/etc/hostname")  # a file in the folder
    (tmp_path / "dee" / LAB / "lab0_tiny.keras").symlink_to(tmp_path / "ann" / LAB / NAME)
    (tmp_path / "eve" / LAB).mkdir(parents=True)
    (tmp_path / "eve" / LAB / NAME).symlink_to(ann)  # the notebook itself
    (tmp_path / "fay_lab1_convolution.ipynb").symlink_to(ann)  # a flat file
    by, _ = discover(tmp_path)
    assert by["ann"].notebook == ann and not by["ann"].notes
    assert by["bob"].status == Status.REJECTED and by["bob"].notebook is None
    assert "bob is a symbolic link (to" in by["bob"].missing_reason
    for student in ("cy", "eve", "fay"):
        assert by[student].status == Status.REJECTED and by[student].notebook is None, student
        assert "refused symbolic links, which the grader never follows" in by[student].missing_reason, student
    assert by["dee"].notebook.name == NAME and by["dee"].files == {}
    assert by["dee"].notes == [
        f"refused symbolic links, which the grader never follows: {LAB}/lab0_tiny.keras "
        f"(to {ann}), {LAB}/labels.npz (to /etc/hostname)"
    ]


def link_member(name, target):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def test_a_zip_member_that_is_a_link_gives_its_student_a_row(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"ann/{LAB}/{NAME}", nbformat.writes(answered()))
        zf.writestr(*link_member(f"bob/{LAB}/{NAME}", f"../../ann/{LAB}/{NAME}"))
        zf.writestr(*link_member(f"cy/{LAB}/labels.npz", "/data/labels.npz"))
        zf.writestr(f"cy/{LAB}/{NAME}", nbformat.writes(released()))
        zf.writestr(*link_member("dee_lab1_convolution.ipynb", f"ann/{LAB}/{NAME}"))
    root = archives.unpack(archive, tmp_path / "imported")
    assert not [p for p in root.rglob("*") if p.is_symlink()]
    by, _ = discover(root)
    assert by["ann"].notebook is not None and by["ann"].status == Status.MISSING  # (its status if it had none)
    for student in ("bob", "dee"):
        assert by[student].status == Status.REJECTED and by[student].notebook is None
        assert "refused zip members that are symbolic links" in by[student].missing_reason
    assert by["cy"].notebook is not None
    assert by["cy"].notes == [
        f"refused zip members that are symbolic links, which the grader never follows: cy/{LAB}/labels.npz"
    ]


# -- student ids --


def test_unicode_ids_are_nfc_with_an_ascii_slug_and_bad_names_get_a_row(tmp_path):
    decomposed = unicodedata.normalize("NFD", "José")  # as macOS writes it
    write(tmp_path / decomposed / LAB / NAME, answered())
    write(tmp_path / "Zoë_lab1_convolution.ipynb", answered())
    write(tmp_path / "李雷" / LAB / NAME, answered())
    write(tmp_path / "two words" / LAB / NAME, answered())
    by, warnings = discover(tmp_path)
    assert set(by) == {"José", "Zoë", "李雷", "two words"} and not warnings
    assert by["José"].notebook is not None and by["José"].slug.startswith("Jose-")
    assert by["Zoë"].notebook is not None and by["Zoë"].slug.startswith("Zoe-")
    assert by["李雷"].notebook is not None and by["李雷"].slug.startswith("student-")
    assert all(ids.SAFE_SLUG.fullmatch(s.slug) for s in by.values())
    assert by["two words"].status == Status.REJECTED and by["two words"].notebook is None
    assert by["two words"].missing_reason.startswith("'two words' is not a student id: an id is 1 to 64 letters")
    assert ids.slug("ann.b-1") == "ann.b-1"


# -- several notebooks: the newest wins --


def test_the_lms_resubmission_wins_and_the_note_names_the_others(tmp_path):
    write(tmp_path / "ann_lab1_convolution.ipynb", released())
    write(tmp_path / "ann_lab1_convolution-1.ipynb", released())
    newest = write(tmp_path / "ann_lab1_convolution-2.ipynb", answered())
    os.utime(newest, (1e9, 1e9))  # older on disk: the LMS number decides
    by, _ = discover(tmp_path)
    assert by["ann"].notebook == newest
    assert by["ann"].notes == [
        "graded ann_lab1_convolution-2.ipynb, the newest (resubmission 2); left out the older "
        "ann_lab1_convolution-1.ipynb, ann_lab1_convolution.ipynb"
    ]


def test_an_old_copy_loses_to_the_newer_notebook(tmp_path):
    current = write(tmp_path / "ann" / LAB / NAME, answered())
    old = write(tmp_path / "ann" / LAB / "old" / NAME, released())
    os.utime(old, (time.time() - 86400, time.time() - 86400))
    tie = write(tmp_path / "ben" / LAB / NAME, answered())
    copy = write(tmp_path / "ben" / LAB / "old" / NAME, released())
    os.utime(copy, (tie.stat().st_mtime, tie.stat().st_mtime))  # same time: the one at the top wins
    by, _ = discover(tmp_path)
    assert by["ann"].notebook == current and by["ben"].notebook == tie
    assert by["ann"].notes == [f"graded {NAME}, the newest (the latest modified); left out the older old/{NAME}"]


def test_zip_member_times_decide_which_notebook_is_newer(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo(f"ann/{LAB}/{NAME}", (2026, 3, 2, 10, 0, 0)), nbformat.writes(answered()))
        zf.writestr(zipfile.ZipInfo(f"ann/{LAB}/backup/{NAME}", (2026, 3, 1, 10, 0, 0)), nbformat.writes(released()))
        zf.writestr(zipfile.ZipInfo(f"ben/{LAB}/{NAME}", (2026, 3, 1, 10, 0, 0)), nbformat.writes(released()))
        zf.writestr(zipfile.ZipInfo(f"ben/{LAB}/new/{NAME}", (2026, 3, 2, 10, 0, 0)), nbformat.writes(answered()))
    by, _ = discover(archives.unpack(archive, tmp_path / "imported"))
    assert by["ann"].notebook.parent.name == LAB
    assert by["ben"].notebook.parent.name == "new"
