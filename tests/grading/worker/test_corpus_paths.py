"""The hostile corpus of paths and clean-up (issue 26, parts 2 and 3): kernels that move their folder, leave a link
where the grader made a folder, or leave trees deeper than any recursion, graded in one batch of lab 1 between
honest students. The grader never follows what a kernel put in its folders, never writes outside them, records
an attempt it sees as `tampered`, and no submission stops the batch: every student gets a row, the honest ones
their full marks, and the batch runs again without grading them twice. Marked `grader_corpus`."""

import csv
import os
import re
from dataclasses import dataclass

import nbformat
import pytest
from grading_helpers import LAB, answered, index_of, write

from cnnlab.grading.cli import main

pytestmark = pytest.mark.grader_corpus

DEPTH = 3000  # folders in a chain: deeper than Python's recursion limit (shutil.rmtree of 3.11 raises there)
LIBC = "import ctypes, glob, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"


@dataclass
class Case:
    student: str
    status: str
    reason: str  # a regex the reason must match
    score: float


def deep_tree(where):
    """Kernel code (after `LIBC`): a chain of DEPTH folders made in the folder `where` (an expression), natively
    (the audit hook would resolve each ever longer path)."""
    return (
        f"top = os.open({where}, os.O_RDONLY)\nlibc.fchdir(top)\n"
        f"for _ in range({DEPTH}):\n    libc.mkdir(b'd', 0o755)\n    libc.chdir(b'd')\n"
        "open('bottom.txt', 'w').write('x')\nos.chdir(os.environ['HOME'])\n"
    )


def with_cell(nb, after, source):
    nb.cells.insert(index_of(nb, after) + 1, nbformat.v4.new_code_cell(source))
    return nb


def with_conv2d_prologue(nb, prologue):
    """The answered notebook whose conv2d first runs `prologue` (indented code), once, on the first call a probe
    makes (a probe's folder is in the working folder only while its probe runs)."""
    cell = nb.cells[index_of(nb, "conv2d")]
    head, _, body = cell.source.partition("\n")
    first = "    if glob.glob('.cnnlab-probe-*') and not DONE:\n        DONE.append(1)\n"
    cell.source = f"{LIBC}DONE = []\n\n{head}\n{first}{prologue}{body}"
    return nb


def corpus(subs, escape):
    cases = []

    def case(student, status, reason, score, nb):
        write(subs / student / LAB / f"{LAB}.ipynb", nb)
        cases.append(Case(student, status, reason, score))

    full = r"^14 of 14 points; all tests passed\.$"
    case("p01_solution", "graded", full, 14, answered())
    case(
        "p02_renames_its_folder",
        "tampered",
        r"may only change files in its working directory: os\.rename",
        14,
        with_cell(answered(), "test_conv2d", "import os\nos.rename(os.getcwd(), os.getcwd() + '-moved')"),
    )
    moved = (  # what made the grader write as root where the link pointed, before the kernels' folders were mounts
        LIBC + "home = os.getcwd().encode()\nprint(libc.rename(home, home + b'-moved'), ctypes.get_errno())\n"
        f"print(libc.symlink({str(escape).encode()!r}, home), ctypes.get_errno())\n"
        "print(libc.rmdir(home), ctypes.get_errno())"
    )
    case("p03_moves_its_folder_natively", "graded", full, 14, with_cell(answered(), "test_conv2d", moved))
    swap = (  # the probe's folder, moved away, a link to the grader's side in its place
        "        for folder in glob.glob('.cnnlab-probe-*'):\n"
        f"            os.rename(folder, folder + '-moved')\n            os.symlink({str(escape)!r}, folder)\n"
    )
    case(
        "p04_swaps_a_probe_folder_for_a_link",
        "tampered",
        r"^12 of 14 points; the notebook moved or replaced the grader's folder of a probe \(test_conv2d\)",
        12,
        with_conv2d_prologue(answered(), swap),
    )
    case(
        "p05_deep_tree_in_its_folder", "graded", full, 14, with_cell(answered(), "test_conv2d", LIBC + deep_tree("'.'"))
    )
    in_probe = "".join(f"        {line}\n" for line in deep_tree("glob.glob('.cnnlab-probe-*')[0]").splitlines())
    case("p06_deep_tree_in_a_probe_folder", "graded", full, 14, with_conv2d_prologue(answered(), in_probe))
    locked = (
        "import os\nfor path in ('a/b/c', 'd/e'):\n    os.makedirs(path)\n    open(path + '/f', 'w').close()\n"
        "for path in ('a/b/c', 'a/b', 'd'):\n    os.chmod(path, 0)\nos.chmod('.', 0o500)"
    )
    case("p07_locks_its_files", "graded", full, 14, with_cell(answered(), "test_conv2d", locked))
    elsewhere = (
        LIBC
        + deep_tree("os.environ['TMPDIR']")
        + deep_tree("os.environ['JUPYTER_RUNTIME_DIR']")
        + f"os.symlink({str(escape)!r}, os.environ['JUPYTER_RUNTIME_DIR'] + '/kernel-next.json')"
    )
    case("p08_fills_its_other_folders", "graded", full, 14, with_cell(answered(), "test_conv2d", elsewhere))
    case("p09_solution", "graded", full, 14, answered())
    return cases


def grade(subs, out):
    return main(
        [
            "grade",
            "--lab",
            LAB,
            "--submissions",
            str(subs),
            "--out",
            str(out),
            "--workers",
            "2",
            "--quick",
            "--timeout",
            "600",
            "--cell-timeout",
            "300",
        ]
    )


@pytest.fixture(scope="module")
def paths_batch(tmp_path_factory):
    subs, out, escape = (tmp_path_factory.mktemp(name) for name in ("paths", "paths_out", "escape"))
    cases = corpus(subs, escape)
    untouched = escape.stat().st_mtime_ns  # (a folder made there and removed again changes it too)
    assert grade(subs, out) == 0
    return cases, subs, out, (escape, untouched)


def rows(out):
    with open(out / "grades.csv", newline="") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def test_each_submission_gets_its_status_score_and_reason(paths_batch):
    cases, _, out, _ = paths_batch
    found, problems = rows(out), []
    for case in cases:
        row = found[case.student]
        if (row["status"], float(row["score"])) != (case.status, case.score) or not re.search(
            case.reason, row["reason"]
        ):
            problems.append(
                f"{case.student}: expected {case.status} {case.score:g} /{case.reason}/, got {row['status']} "
                f"{row['score']}: {row['reason']}"
            )
    assert not problems, "\n".join(problems)


def test_nothing_was_written_where_the_links_point_and_no_folder_is_left(paths_batch):
    _, _, out, (escape, untouched) = paths_batch
    assert list(escape.iterdir()) == [] and escape.stat().st_mtime_ns == untouched
    assert not list((out / ".work").glob("*/jail"))  # the model checks' folder, removed
    for root, folders, _ in os.walk(out):
        folders[:] = [f for f in folders if not f.startswith("reference-")]  # (the solution's records, kept)
        assert not [f for f in folders if f.startswith(".cnnlab-probe-")], root


def test_the_batch_runs_again_and_keeps_every_result(paths_batch, capsys):
    cases, subs, out, _ = paths_batch
    capsys.readouterr()
    assert grade(subs, out) == 0
    assert f"{len(cases)} already graded with the same files (kept); 0 to grade" in capsys.readouterr().out
