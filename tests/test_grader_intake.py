"""The grader's intake (links, Unicode ids, resubmissions, zips), its feedback sanitizing, statuses, the
gradebook's resync and the class report's identical files: on tiny folders, zips and notebooks made here."""

import html.parser
import json
import os
import stat
import time
import unicodedata
import zipfile

import nbformat
import pytest
from grading_helpers import LAB, answered, index_of, nbg, released, write

from cnnlab.grading.intake import archive as archives
from cnnlab.grading.intake import discover as submissions
from cnnlab.grading.intake import ids
from cnnlab.grading.results import gradebook as gradebooks
from cnnlab.grading.results import report
from cnnlab.grading.results.feedback_page import CSP, summary_markdown, to_html
from cnnlab.grading.results.result import GradingResult
from cnnlab.grading.results.status import STATUSES, Status
from cnnlab.grading.worker.feedback import feedback_notebook, mark_hidden_part
from cnnlab.grading.worker.restore import check_structure

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


# -- graded cells of another lab --


def test_graded_cells_of_another_lab_are_removed_with_a_note(tmp_path):
    nb = answered()
    extra = nbformat.v4.new_code_cell("assert lenet().count_params() == 61706")
    extra.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_lenet_params",
        "locked": True,
        "points": 3,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    answer = nbformat.v4.new_code_cell("def lenet():\n    return None")
    answer.metadata["nbgrader"] = {
        "grade": False,
        "grade_id": "lenet",
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    nb.cells[index_of(nb, "test_conv2d") + 1 : index_of(nb, "test_conv2d") + 1] = [answer, extra]
    result = GradingResult("ann", LAB, 14.0, "test")
    check_structure(nb, released(), result, NAME)
    assert result.status == "graded"
    assert result.notes == [
        f"cells of no {LAB} test or answer were found (lenet, test_lenet_params; copied "
        f"from another lab?): the grader removed their tests and graded the rest"
    ]
    assert not [c for c in nb.cells if nbg(c).get("grade_id") in ("lenet", "test_lenet_params")]
    assert any(c.source.startswith("def lenet") for c in nb.cells) and not any("61706" in c.source for c in nb.cells)


# -- feedback: no live HTML, only what the visible part printed --


class Scripts(html.parser.HTMLParser):
    """The text of every <script> element and every on* attribute of a page."""

    def __init__(self):
        super().__init__()
        self.found, self.inside = [], False

    def handle_starttag(self, tag, attrs):
        self.inside = tag == "script"
        self.found += [f"{tag}.{k}={v}" for k, v in attrs if k.startswith("on") or (v or "").startswith("javascript:")]

    def handle_endtag(self, tag):
        self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.found.append(data)


def hostile_feedback():
    """A graded notebook whose outputs and cells carry script, and whose test printed its hidden part."""
    rel = released()
    nb = answered()
    test = nb.cells[index_of(nb, "test_conv2d")]
    secret = "assert_allclose(cross_correlate2d(np.ones((7, 5)), np.ones((2, 2))), 4 * np.ones((6, 4)))"
    test.source = test.source + "\n### BEGIN HIDDEN TESTS\n" + secret + "\n### END HIDDEN TESTS"
    marker = "hiddendeadbeef"
    test.source = mark_hidden_part(test.source, marker)
    test.outputs = [
        nbformat.v4.new_output(
            "stream", name="stdout", text=f"visible part ran\n{marker}\nhidden input [[1, 2], [3, 4]]\n"
        )
    ]
    payload = '<script>alert("pwned")</script><img src=x onerror="alert(1)">'
    student = nb.cells[index_of(nb, "cross_correlate2d")]
    student.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": payload, "text/plain": "<IPython.HTML>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": 'alert("pwned")'}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": f"<svg>{payload}</svg>"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": payload}),
        nbformat.v4.new_output(
            "display_data",
            data={"image/png": '"><script>alert("pwned")</script>'},
            metadata={"image/png": {"width": '1 onload="alert(1)"'}},
        ),
        nbformat.v4.new_output("stream", name="stdout", text=f"In[-1] was: {secret!r}\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": repr(["x", secret + "\n"])}, execution_count=3),
    ]
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(f"My notes {payload} [link](javascript:alert(1))"))
    nb.cells.insert(2, nbformat.v4.new_raw_cell(payload))
    result = {
        "lab": LAB,
        "student": "ann",
        "score": 2.0,
        "max_score": 14.0,
        "status": "graded",
        "reason": "2 of 14 points.",
        "models": [],
        "cells": [{"grade_id": "test_conv2d", "points": 2.0, "score": 2.0, "state": "passed"}],
    }
    return feedback_notebook(nb, rel, result, marker), secret, marker


def test_feedback_shows_student_html_as_text_and_runs_no_script_of_theirs():
    feedback, secret, marker = hostile_feedback()
    page = to_html(feedback)
    scripts = Scripts()
    scripts.feed(page)
    assert not [s for s in scripts.found if "pwned" in s or "alert(1)" in s], scripts.found
    assert CSP in page and page.index(CSP) < page.index("<script")
    assert "rich output is not shown in the feedback" in page
    assert "My notes &lt;script&gt;alert" in page  # the student's markdown, shown as text


def test_feedback_keeps_only_what_the_visible_part_printed():
    feedback, secret, marker = hostile_feedback()
    text = nbformat.writes(feedback)
    test = next(c for c in feedback.cells if nbg(c).get("grade_id") == "test_conv2d")
    printed = "".join(o.text for o in test.outputs)
    assert printed.startswith("visible part ran\n[grader] 2 / 2: passed")
    assert "hidden input" not in text and marker not in text
    assert secret not in test.source and secret not in printed
    # what the student's own code printed is shown as printed: no filter pretends to hold back what the kernel
    # was given (the threat model: a probed test gives it nothing secret)
    student = next(c for c in feedback.cells if nbg(c).get("grade_id") == "cross_correlate2d")
    assert f"In[-1] was: {secret!r}\n" in [o.get("text") for o in student.outputs]


def test_a_test_whose_marker_never_printed_shows_no_output():
    feedback, _, _ = hostile_feedback()
    rel, nb = released(), answered()
    test = nb.cells[index_of(nb, "test_conv2d")]
    test.source += "\n### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS"
    test.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hidden input [[1, 2]]\n")]  # print replaced
    result = {
        "lab": LAB,
        "student": "ann",
        "score": 0.0,
        "max_score": 14.0,
        "status": "graded",
        "reason": "",
        "models": [],
        "cells": [],
    }
    shown = feedback_notebook(nb, rel, result, "hidden0123")
    printed = "".join(o.text for o in next(c for c in shown.cells if nbg(c).get("grade_id") == "test_conv2d").outputs)
    assert "hidden input" not in printed and "could not tell it from what its hidden part printed" in printed


def test_a_failed_probe_says_which_rule_failed():
    rel, nb = released(), answered()
    message = "'random': 3 of 56 values differ from the expected ones (rtol=1e-07, atol=0)"
    result = {
        "lab": LAB,
        "student": "ann",
        "score": 0.0,
        "max_score": 14.0,
        "status": "graded",
        "reason": "",
        "models": [],
        "cells": [
            {
                "grade_id": "test_conv2d",
                "points": 2.0,
                "score": 0.0,
                "state": "failed",
                "hidden_failed": True,
                "path": "probe",
                "message": message,
            }
        ],
    }
    shown = feedback_notebook(nb, rel, result, None)
    printed = "".join(o.text for o in next(c for c in shown.cells if nbg(c).get("grade_id") == "test_conv2d").outputs)
    assert f"[grader] 0 / 2: A hidden test failed: {message}." in printed, printed


def test_a_failed_visible_part_shows_its_error_then_the_judges_rules():
    rel, nb = released(), answered()
    test = nb.cells[index_of(nb, "test_conv2d")]
    test.outputs = [
        nbformat.v4.new_output("error", ename="AssertionError", evalue="expected 3, received 4", traceback=[])
    ]
    message = "'random': 3 of 56 values differ from the expected ones (rtol=1e-07, atol=0)"
    result = {
        "lab": LAB,
        "student": "ann",
        "score": 0.0,
        "max_score": 14.0,
        "status": "graded",
        "reason": "",
        "models": [],
        "cells": [
            {
                "grade_id": "test_conv2d",
                "points": 2.0,
                "score": 0.0,
                "state": "failed",
                "hidden_failed": True,
                "visible_failed": True,
                "path": "probe",
                "message": message,
            }
        ],
    }
    shown = feedback_notebook(nb, rel, result, None)
    printed = "".join(
        o.text
        for o in next(c for c in shown.cells if nbg(c).get("grade_id") == "test_conv2d").outputs
        if o.output_type == "stream"
    )
    assert f"[grader] 0 / 2: AssertionError: expected 3, received 4\nThe grader's checks: {message}." in printed, (
        printed
    )
    assert "| test_conv2d | 2 | 0 | its visible part failed |" in summary_markdown(result)


def ipython_traceback(*cell_lines, failing):
    """An error output's traceback as IPython writes it (colours included) for a failure at line `failing`."""
    listing = "\n".join(f"{'---->' if n == failing else '     '} {n} {line}" for n, line in enumerate(cell_lines, 1))
    return [
        "\x1b[0;31m-----------\x1b[0m",
        "\x1b[0;31mAssertionError\x1b[0m  Traceback (most recent call last)",
        f"Cell \x1b[0;32mIn[7], line {failing}\x1b[0m\n{listing}\n",
        "\x1b[0;31mAssertionError\x1b[0m: ",
    ]


def feedback_of_test_output_size(error, **entry):
    rel, nb = released(), answered()
    nb.cells[index_of(nb, "test_output_size")].outputs = [error]
    cell = {
        "grade_id": "test_output_size",
        "points": 1.0,
        "score": 0.0,
        "state": "failed",
        "hidden_failed": False,
        "visible_failed": True,
        "path": "probe",
        **entry,
    }
    result = {
        "lab": LAB,
        "student": "ann",
        "score": 0.0,
        "max_score": 14.0,
        "status": "graded",
        "reason": "",
        "models": [],
        "cells": [cell],
    }
    shown = feedback_notebook(nb, rel, result, None)
    return "".join(
        o.text
        for o in next(c for c in shown.cells if nbg(c).get("grade_id") == "test_output_size").outputs
        if o.output_type == "stream"
    )


def test_a_bare_assert_that_failed_is_named_by_its_released_line_and_a_hidden_line_never():
    visible = "np.testing.assert_equal(output_size(24, 2, stride=2), 12)"
    error = nbformat.v4.new_output(
        "error",
        ename="AssertionError",
        evalue="",
        traceback=ipython_traceback("np.testing.assert_equal(output_size(28, 5), 24)", visible, failing=2),
    )
    printed = feedback_of_test_output_size(error)
    assert f"[grader] 0 / 1: AssertionError: \nThe check that failed: {visible}\n" in printed, printed
    hidden = "assert output_size(13, 3, padding=1) == 13  # a line no release shows"
    error.traceback = ipython_traceback(visible, hidden, failing=2)
    printed = feedback_of_test_output_size(error)
    assert "The check that failed" not in printed and "padding=1" not in printed, printed


def test_a_passed_probe_whose_visible_part_stopped_says_both():
    error = nbformat.v4.new_output(
        "error",
        ename="AssertionError",
        evalue="",
        traceback=ipython_traceback("np.testing.assert_equal(output_size(28, 5), 24)", failing=1),
    )
    printed = feedback_of_test_output_size(error, score=1.0, state="passed", visible_failed=False)
    assert printed.startswith("[grader] 1 / 1: passed: the grader's checks of this task passed"), printed
    assert (
        "stopped at AssertionError: \nThe check that failed: np.testing.assert_equal(output_size(28, 5), 24)" in printed
    ), printed


def test_feedback_reads_a_student_cell_whose_nbgrader_metadata_is_not_a_dict():
    rel, nb = released(), answered()
    odd = nbformat.v4.new_code_cell("print('mine')")
    odd.metadata["nbgrader"] = "not a dict"
    nb.cells.insert(1, odd)
    result = {
        "lab": LAB,
        "student": "ann",
        "score": 14.0,
        "max_score": 14.0,
        "status": "graded",
        "reason": "",
        "models": [],
        "cells": [],
    }
    shown = feedback_notebook(nb, rel, result, None)
    assert [c.source for c in shown.cells].count("print('mine')") == 1
    assert "mine" in to_html(shown)


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
