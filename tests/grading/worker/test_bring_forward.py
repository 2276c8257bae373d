"""A notebook of an older release of a lab, brought to the current release before its tests run: the instructors'
cells left as released are replaced, edited ones get the course's change merged in when it touches no line the
student changed, a cell the course added is inserted in its place, and what cannot be brought is said to be the
course's change. Also the releases kept by `make labs` (`course.releases`)."""

import copy

import nbformat
import pytest
from grading_helpers import answered, index_of, released

from cnnlab.grading.course import releases
from cnnlab.grading.results.result import GradingResult
from cnnlab.grading.worker import restore

LAB = "lab1_convolution"
IMPORTS = "8aa6b2bf"  # the imports cell of lab 1's release
HELPER = "def impulse(n):\n    x = np.zeros((n, n))\n    x[n // 2, n // 2] = 1\n    return x"


def cell(nb, key):
    return next(c for c in nb.cells if c.get("id") == key)


def versions():
    """Release 1 (lab 1 as released) and release 2: a helper added to the imports cell, a new explanation cell
    after it, and test_output_size's visible part changed."""
    one = released(LAB)
    two = copy.deepcopy(one)
    cell(two, IMPORTS).source += "\n\n" + HELPER
    added = nbformat.v4.new_markdown_cell("The helper `impulse(n)` makes an impulse image.")
    added.id = "new-explanation"
    two.cells.insert(index_of(two, "test_conv2d") - 3, added)
    test = two.cells[index_of(two, "test_output_size")]
    test.source = test.source.replace("output_size(28, 5), 24)", "output_size(28, 5), 24, err_msg='conv(5) on 28')")
    releases.stamp(one, 1)
    releases.stamp(two, 2)
    return {1: one, 2: two}


def student(version=1, answer=True):
    nb = answered(LAB) if answer else released(LAB)
    releases.stamp(nb, version)
    return nb


def grade(nb, known=None):
    result = GradingResult("ann", LAB, 14.0, "test")
    record = restore.bring_forward(nb, known or versions(), result)
    return record, result


def test_cells_left_as_released_become_the_current_release_s():
    nb = student()
    record, result = grade(nb)
    assert (record["version"], record["current"], record["told_by"]) == (1, 2, "its release stamp")
    assert record["brought"] == ["code cell 'import matplotlib.pyplot as plt'", "test_output_size"]
    assert record["added"] == ["markdown cell 'The helper `impulse(n)` makes an impulse'"]
    assert cell(nb, IMPORTS).source.endswith(HELPER)
    assert [c.get("id") for c in nb.cells] == [c.get("id") for c in versions()[2].cells]
    assert cell(nb, "4bf9feff").source == cell(answered(LAB), "4bf9feff").source  # the student's answer, untouched
    assert result.notes == [
        "your notebook is from release 1 of lab1_convolution and the course's is 2: the grader brought the "
        "course's cells to release 2 (code cell 'import matplotlib.pyplot as plt', test_output_size, markdown "
        "cell 'The helper `impulse(n)` makes an impulse')"
    ]
    assert result.release == record


def test_an_edited_cell_gets_the_course_s_change_when_it_touches_no_line_the_student_changed():
    nb = student()
    cell(nb, IMPORTS).source = "import math\n" + cell(nb, IMPORTS).source  # the student's own import
    record, _ = grade(nb)
    assert record["merged"] == ["code cell 'import matplotlib.pyplot as plt'"] and not record["kept"]
    assert cell(nb, IMPORTS).source == "import math\n" + cell(versions()[2], IMPORTS).source


def test_a_change_to_lines_the_student_edited_is_kept_theirs_and_said_to_be_the_course_s():
    nb = student()
    cell(nb, IMPORTS).source = cell(nb, IMPORTS).source.replace("suppress=True)", "suppress=False)")
    record, result = grade(nb)
    assert (
        record["kept"] == ["cell 4 ('import matplotlib.pyplot as plt')"] and "impulse" not in cell(nb, IMPORTS).source
    )
    assert result.notes[-1] == (
        "the course changed cells you had edited since release 1 (cell 4 ('import matplotlib.pyplot as plt')); "
        "your versions were kept, so a test that fails from the course's change fails for the course, not for "
        "your code: tell your instructors"
    )
    graded = {"test_conv2d": {"state": "failed", "message": "'random' missing: the probe stopped with NameError"}}
    restore.explain_failures(graded, record)
    assert graded["test_conv2d"]["message"].endswith(
        "(your notebook is from release 1 of this lab and the course's cells you had edited changed since: this "
        "name may be the course's change, not a mistake in your code)"
    )


def test_the_release_is_told_by_the_cells_when_the_stamp_is_gone_and_the_current_one_is_left_alone():
    nb = student()
    del nb.metadata["cnnlab"]
    record, _ = grade(nb)
    assert (record["version"], record["told_by"]) == (1, "its cells") and record["brought"]
    current = student(2)
    current.cells = copy.deepcopy(versions()[2].cells)
    before = nbformat.writes(current)
    record, result = grade(current)
    assert record["version"] == 2 and nbformat.writes(current) == before and not result.notes
    assert restore.bring_forward(student(), {}, GradingResult("ann", LAB, 14.0, "test")) is None


@pytest.mark.parametrize(
    "mine, expected",
    [
        ("a\nb\nc", "a\nB\nc\nd"),  # untouched: the change applies
        ("z\na\nb\nc", "z\na\nB\nc\nd"),  # a line added at the top
        ("a\nb\nc\ne", "a\nB\nc\nd\ne"),  # a line added at the end, after the course's insertion point
        ("a\nb!\nc", None),  # the changed line edited too
        ("a\nc", None),  # the changed line deleted
    ],
)
def test_merge3_applies_the_course_s_change_only_where_the_student_left_the_lines(mine, expected):
    assert restore.merge3("a\nb\nc", mine, "a\nB\nc\nd") == expected


def test_make_labs_keeps_a_new_version_only_when_the_release_changed(tmp_path):
    path = tmp_path / "labs" / LAB / f"{LAB}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(released(LAB), path)
    assert releases.keep(tmp_path / "releases", LAB, path) == (1, True)
    assert releases.keep(tmp_path / "releases", LAB, path) == (1, False)
    changed = nbformat.read(path, as_version=4)
    changed.cells[1].source += "\n\nA clarification."
    nbformat.write(changed, path)
    assert releases.keep(tmp_path / "releases", LAB, path) == (2, True)
    kept = releases.versions(tmp_path / "releases", LAB)
    assert sorted(kept) == [1, 2] and nbformat.read(kept[2], as_version=4).metadata["cnnlab"]["release"] == 2
    assert releases.for_job(tmp_path / "releases", LAB) == [{"version": v, "path": str(p)} for v, p in kept.items()]


def test_the_course_keeps_the_release_students_have():
    kept = releases.versions(releases.RELEASES, LAB)
    assert kept, "make labs keeps every release in autograder/releases/"
    latest = nbformat.read(kept[max(kept)], as_version=4)
    assert releases.content(latest) == releases.content(released(LAB))
    assert released(LAB).metadata["cnnlab"]["release"] == max(kept)
