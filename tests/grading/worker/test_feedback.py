"""The feedback a student reads (cnnlab.grading.worker.feedback, results.feedback_page): no live HTML, only what a
test's visible part printed, the failed rule of a probe, never a hidden line."""

import html.parser

import nbformat
from grading_helpers import LAB, answered, index_of, nbg, released

from cnnlab.grading.intake import discover as submissions
from cnnlab.grading.results.feedback_page import CSP, summary_markdown, to_html
from cnnlab.grading.worker.feedback import feedback_notebook, mark_hidden_part

NAME = f"{LAB}.ipynb"


def discover(root):
    found, warnings = submissions.discover(root, LAB, NAME, ["lab0_tiny"])
    return {s.student: s for s in found}, warnings


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
