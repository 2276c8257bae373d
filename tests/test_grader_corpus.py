"""The hostile corpus: broken and hostile submissions, graded in one batch each, none stops the batch.

Lab 1 (NumPy, 14 points) takes the notebook cases; a tiny lab with a saved model (built in the test's folder,
`grading_helpers.tiny_lab`) takes the model cases. Every submission gets the expected status and a reason
that says what happened. Several minutes on 2 cores: behind the `grader_corpus` marker
(`pytest -m grader_corpus tests/test_grader_corpus.py`, or `make test-grader`).
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from cnnlab.grading.cli import main
from grading_helpers import (LAB, ROOT, TINY, answered, index_of, nbg, released, set_tiny_weights, tiny_lab,
                             tiny_model, tiny_test_set, write)

pytestmark = pytest.mark.grader_corpus

CELL_TIMEOUT, TIMEOUT = 25, 75


@dataclass
class Case:
    student: str
    status: str
    reason: str  # a regex the reason must match
    score: float


def code(source):
    return nbformat.v4.new_code_cell(source)


def with_extra_cell(nb, after_grade_id, source):
    nb.cells.insert(index_of(nb, after_grade_id) + 1, code(source))
    return nb


def set_answer(nb, grade_id, source):
    nb.cells[index_of(nb, grade_id)].source = source
    return nb


def wrong_answers():
    """Every answer returns zeros of the right shape: all tests fail honestly."""
    nb = released()
    for cell in nb.cells:
        if nbg(cell).get("solution"):
            head = cell.source.split("\n")[0]
            cell.source = f"{head}\n    return 0\n" if head.startswith("def ") else cell.source.replace("raise NotImplementedError()", "pass")
    return nb


KERNEL_ATTACKS = {
    "c21_monkeypatched_asserts": "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None\n"
                                 "np.testing.assert_array_equal = lambda *a, **k: None\nnp.testing.assert_equal = lambda *a, **k: None",
    "c22_swallowed_errors": "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)",
    "c23_rewritten_cells": "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])",
    "c29_asserts_dropped_by_a_transformer": (
        "get_ipython().input_transformers_post.append(lambda lines: [l for l in lines if 'assert' not in l])"),
    "c30_run_cell_patched": (
        "shell = get_ipython()\noriginal, original_async = shell.run_cell, shell.run_cell_async\n"
        "def quiet(cell):\n    return 'pass' if 'assert' in cell or 'cnnlab' in cell else cell\n"
        "shell.run_cell = lambda cell, *a, **k: original(quiet(cell), *a, **k)\n"
        "async def run_cell_async(cell, *a, **k):\n    return await original_async(quiet(cell), *a, **k)\n"
        "shell.run_cell_async = run_cell_async"),
    "c31_compiled_without_asserts": (
        "shell = get_ipython()\nclass NoAsserts(type(shell.compile)):\n"
        "    def __call__(self, source, filename, symbol):\n"
        "        return compile(source, filename, symbol, self.flags, True, optimize=1)\n"
        "shell.compile.__class__ = NoAsserts"),
    "c32_numpy_testing_replaced_out_of_sight": (
        "import inspect\nimport numpy as np\nreal = np.testing.assert_allclose\n"
        "def assert_allclose(*a, **k):\n"
        "    if any('canary' in f.function for f in inspect.stack()):\n        return real(*a, **k)\n"
        "np.testing.assert_allclose = assert_allclose"),
    "c33_probe_api_replaced": (
        "import json, re\nimport cnnlab.grading.probes as probes\n"
        "def run(directory, namespace):\n    code = open(f'{directory}/probe.py').read()\n"
        "    names = re.findall(r'probe.record\\(\"([^\"]+)\"', code)\n"
        "    values = {n: {'kind': 'json', 'value': 0} for n in names}\n"
        "    open(f'{directory}/records.json', 'w').write(json.dumps({'values': values, 'error': None}))\n"
        "probes.run = run\nprobes.Recorder.record = lambda self, name, value: value"),
    "c34_forges_records_from_a_thread": (
        "import glob, json, threading, time\n"
        "def forge():\n    while True:\n        for folder in glob.glob('.cnnlab-probe-*'):\n"
        "            try:\n                open(folder + '/records.json', 'w').write(json.dumps({'values': {}, 'error': None}))\n"
        "            except OSError:\n                pass\n        time.sleep(0.001)\n"
        "threading.Thread(target=forge, daemon=True).start()"),
}


def lab1_corpus(subs, out, data):
    def put(student, nb, name=f"{LAB}.ipynb"):
        write(subs / student / LAB / name, nb)

    cases = []

    def case(student, status, reason, score, nb=None, name=f"{LAB}.ipynb"):
        if nb is not None:
            put(student, nb, name)
        cases.append(Case(student, status, reason, score))

    case("c01_solution", "graded", r"^14 of 14 points; all tests passed\.$", 14, answered())
    case("c02_blank", "graded", r"^0 of 14 points; failed: test_conv2d, .*test_conv1x1\.$", 0, released())
    case("c03_invalid_json", "error", r"is not a valid notebook \(not readable as JSON", 0, b'{"cells": [')
    other = nbformat.v4.new_notebook(cells=[code("x = 1")])
    other.cells[0].metadata["nbgrader"] = {"grade": True, "grade_id": "test_lenet_params", "locked": True, "points": 3,
                                           "schema_version": 3, "solution": False, "task": False}
    case("c04_wrong_lab", "error", r"not a lab1_convolution notebook: none of its graded cells \(test_lenet_params\)", 0, other)
    nb = answered()
    del nb.cells[index_of(nb, "test_conv1x1")]
    case("c05_deleted_test_cell", "tampered", r"cells were deleted \(test_conv1x1\); the grader put them back", 14, nb)
    nb = answered()
    nb.cells.insert(index_of(nb, "test_conv2d"), nbformat.from_dict(nb.cells[index_of(nb, "test_conv2d")]))
    case("c06_duplicated_cell", "tampered", r"appear more than once \(test_conv2d\)", 14, nb)
    nb = wrong_answers()
    for cell in nb.cells:
        if nbg(cell).get("grade"):
            cell.source = "pass  # no test here"
    case("c07_edited_tests", "tampered", r"read-only cells were edited \(test_conv2d, .*put the instructors' versions back", 0, nb)
    nb = answered()
    nb.cells[index_of(nb, "test_conv2d")].metadata.nbgrader["points"] = 100
    case("c08_edited_points", "graded", r"^14 of 14 points; all tests passed\.$", 14, nb)
    case("c09_infinite_loop", "timeout", rf"cell 5 ran longer than {CELL_TIMEOUT} s and was interrupted", 14,
         with_extra_cell(answered(), "test_conv2d", "while True:\n    pass"))
    case("c10_ignores_interrupts", "timeout", r"did not stop when interrupted; the 7 test cells after it were not run", 2,
         with_extra_cell(answered(), "test_conv2d",
                         "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except KeyboardInterrupt:\n        pass"))
    case("c11_memory_bomb", "error", r"ran out of memory \(the limit is 8192 MB\)", 14,
         with_extra_cell(answered(), "test_conv2d", "blocks = []\ntry:\n    while True:\n        blocks.append(bytearray(2**28))\n"
                                                    "except MemoryError:\n    blocks.clear()\n    raise"))
    nb = answered()
    set_answer(nb, "cross_correlate2d", nb.cells[index_of(nb, "cross_correlate2d")].source + "\nimport os\nos._exit(1)")
    case("c12_kills_the_kernel", "error", r"kernel died while running cell \d+ .*the 7 test cells after it were not run", 2, nb)
    nb = released()
    for cell in nb.cells:
        if cell.cell_type == "code" and not nbg(cell).get("locked"):
            cell.source = "raise RuntimeError('nothing works')"
    case("c13_exception_everywhere", "graded", r"^0 of 14 points; failed: test_conv2d", 0, nb)
    case("c14_huge_output", "graded", r"^14 of 14 points; all tests passed\.$", 14,
         with_extra_cell(answered(), "test_conv2d", "print('x' * 30_000_000)\nfor i in range(20_000):\n    print(i)"))
    case("c15_network", "tampered", r"without network: .* is refused", 14,
         with_extra_cell(answered(), "test_conv2d", "import socket\nsocket.create_connection(('pypi.org', 443), timeout=5)"))
    hidden = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
    case("c16_reads_hidden_tests", "tampered", r"is the grader's, not the notebook's", 14,
         with_extra_cell(answered(), "test_conv2d", f"print(open({str(hidden)!r}).read()[:100])"))
    case("c17_reads_test_labels", "tampered", r"is the grader's, not the notebook's", 14,
         with_extra_cell(answered(), "test_conv2d", f"import numpy as np\nprint(np.load({str(data / 'labels.npz')!r})['y'])"))
    case("c18_writes_gradebook", "tampered", r"only open databases in its working directory", 14,
         with_extra_cell(answered(), "test_conv2d",
                         f"import sqlite3\nsqlite3.connect({str(out / 'gradebook.db')!r}).execute('delete from grade')"))
    case("c19_writes_outside_scratch", "tampered", r"may only write in its working directory", 14,
         with_extra_cell(answered(), "test_conv2d", "open('/tmp/cnnlab-corpus-escape.txt', 'w').write('x')"))
    case("c20_starts_a_program", "tampered", r"without starting programs \(subprocess.Popen refused\)", 14,
         with_extra_cell(answered(), "test_conv2d", "import subprocess\nsubprocess.run(['cat', '/etc/hostname'])"))
    # attacks on the kernel's Python: with blank answers, each can at most change what a probe hands back
    blank = r"^0 of 14 points; failed: test_conv2d, .*test_conv1x1\.$"
    for student, attack in KERNEL_ATTACKS.items():
        case(student, "graded", blank, 0, with_extra_cell(released(), "conv2d", attack))
    write(subs / "c24_missing" / "notes.txt", b"I forgot")
    case("c24_missing", "missing", r"no notebook for this lab", 0)
    put("c25_two_notebooks", answered(), "a.ipynb")
    put("c25_two_notebooks", released(), "b.ipynb")
    case("c25_two_notebooks", "missing", r"several notebooks .* none named lab1_convolution.ipynb: a.ipynb, b.ipynb", 0)
    write(subs / "c26_lab1_convolution.ipynb", answered())  # a flat LMS file named <student>_...
    case("c26", "graded", r"^14 of 14 points; all tests passed\.$", 14)
    nb = answered()
    nb.metadata["kernelspec"] = {"name": "evil", "display_name": "evil", "language": "python"}
    case("c27_other_kernelspec", "graded", r"^14 of 14 points; all tests passed\.$", 14, nb)
    nb = answered()
    for cell in nb.cells:
        if nbg(cell).get("solution"):
            cell.source = "import sys\nprint('warning: printed to stderr', file=sys.stderr)\n" + cell.source.replace(
                '    """\n', '    """\n    print("called", file=sys.stderr)\n', 1)
    case("c28_prints_to_stderr", "graded", r"^14 of 14 points; all tests passed\.$", 14,
         with_extra_cell(nb, "test_conv2d", "import sys\nsys.stderr.write('noise on stderr\\n')"))
    nb = answered()
    set_answer(nb, "conv_counts", nb.cells[index_of(nb, "conv_counts")].source.replace(
        '    ### BEGIN SOLUTION\n    return n_out', '    while n_out == 55:  # a hidden input only\n        pass\n    return n_out'))
    case("c35_endless_on_a_hidden_input", "timeout", r"^12 of 14 points; cell \d+ ran longer than 25 s and was interrupted", 12, nb)
    return cases


def grades(out):
    with open(out / "grades.csv", newline="") as file:
        return {(row["lab"], row["student"]): row for row in csv.DictReader(file)}


@pytest.fixture(scope="module")
def lab1_batch(tmp_path_factory):
    subs, out, data = (tmp_path_factory.mktemp(name) for name in ("corpus", "corpus_out", "grader_data"))
    tiny_test_set(data / "labels.npz")
    cases = lab1_corpus(subs, out, data)
    code_ = main(["grade", "--lab", LAB, "--submissions", str(subs), "--out", str(out), "--workers", "2", "--quick",
                  "--timeout", str(TIMEOUT), "--cell-timeout", str(CELL_TIMEOUT), "--data", str(data)])
    assert code_ == 0
    return cases, out


def test_corpus_has_at_least_20_broken_or_hostile_submissions(lab1_batch):
    cases, _ = lab1_batch
    hostile = [c for c in cases if c.student not in ("c01_solution", "c26", "c27_other_kernelspec")]
    assert len(hostile) >= 20


def test_each_submission_gets_its_status_score_and_reason(lab1_batch):
    cases, out = lab1_batch
    rows = grades(out)
    problems = []
    for case in cases:
        row = rows[(LAB, case.student)]
        if row["status"] != case.status or float(row["score"]) != case.score or not re.search(case.reason, row["reason"]):
            problems.append(f"{case.student}: expected {case.status} {case.score:g} /{case.reason}/, "
                            f"got {row['status']} {row['score']}: {row['reason']}")
    assert not problems, "\n".join(problems)
    assert all(row["max_score"] == "14" for row in rows.values())


def test_nothing_escaped_and_the_gradebook_is_intact(lab1_batch):
    from nbgrader.api import Gradebook

    cases, out = lab1_batch
    assert not Path("/tmp/cnnlab-corpus-escape.txt").exists()
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(LAB).submissions}
    assert scores["c01_solution"] == 14 and scores["c12_kills_the_kernel"] == 2
    assert len(scores) == len(cases)


def test_feedback_never_shows_hidden_tests_and_stays_small(lab1_batch):
    cases, out = lab1_batch
    solution = nbformat.read(ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    hidden = {line.strip() for cell in solution.cells if nbg(cell).get("grade")
              for line in cell.source.split("### BEGIN HIDDEN TESTS")[-1].split("### END HIDDEN TESTS")[0].splitlines()
              if "BEGIN HIDDEN" in cell.source and len(line.strip()) > 25}
    assert hidden
    for case in cases:
        html = (out / "feedback" / case.student / f"{LAB}.html").read_text()
        leaked = [line for line in hidden if line in html]
        assert not leaked, f"{case.student}: hidden test lines in the feedback: {leaked[:2]}"
        assert len(html) < 5_000_000, f"{case.student}: feedback of {len(html):,} characters"


# -- a lab with a saved model: the decisive checks run in the grader's process --

@pytest.fixture(scope="module")
def model_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_course")
    source, config_dir = tiny_lab(root)
    data = tmp_path_factory.mktemp("tiny_data")
    tiny_test_set(data / "tiny_test.npz")
    subs, out = tmp_path_factory.mktemp("tiny_subs"), tmp_path_factory.mktemp("tiny_out")
    release_dir = tmp_path_factory.mktemp("tiny_release")
    main(["grade", "--lab", TINY, "--submissions", str(subs), "--out", str(release_dir), "--source", str(source),
          "--config-dir", str(config_dir), "--data", str(data)])  # no students yet: makes the release
    release = release_dir / ".course" / "labs" / TINY / f"{TINY}.ipynb"
    good = answered(TINY, source / TINY / f"{TINY}.ipynb", release)

    def student(name, nb, model=None, raw=None):
        write(subs / name / TINY / f"{TINY}.ipynb", nb)
        if model is not None:
            model.save(subs / name / TINY / f"{TINY}.keras")
        if raw is not None:
            write(subs / name / TINY / f"{TINY}.keras", raw)

    student("m1_good", good, set_tiny_weights(tiny_model()))
    student("m2_missing_model", good)
    student("m3_corrupt_model", good, raw=b"PK\x03\x04 not really a zip")
    student("m4_wrong_architecture", good, tiny_model(hidden=3))
    patched = nbformat.from_dict(good)
    patched.cells.insert(index_of(patched, "test_model"),
                         code("import keras\nkeras.Model.count_params = lambda self: 10"))  # fools the hidden test only
    student("m5_monkeypatched_keras", patched, tiny_model(hidden=3))
    main(["grade", "--lab", TINY, "--submissions", str(subs), "--out", str(out), "--workers", "2", "--timeout", "120",
          "--source", str(source), "--config-dir", str(config_dir), "--data", str(data)])
    return grades(out)


@pytest.mark.parametrize("student, status, score, reason", [
    ("m1_good", "graded", 4, r"^4 of 4 points; all tests passed\.$"),
    ("m2_missing_model", "error", 0, r"lab0_tiny\.keras is missing: the grader scores the model your notebook saved"),
    ("m3_corrupt_model", "error", 0, r"is not a Keras model file"),
    ("m4_wrong_architecture", "graded", 1, r"^1 of 4 points; failed: test_model \(lab0_tiny: 23 parameters, expected 10, "
                                           r"23 operations, expected 10, accuracy 0\.\d+ on the grader's test set"),
    ("m5_monkeypatched_keras", "graded", 1, r"^1 of 4 points; failed: test_model \(lab0_tiny: 23 parameters, expected 10"),
])
def test_model_submissions(model_batch, student, status, score, reason):
    row = model_batch[(TINY, student)]
    assert (row["status"], float(row["score"])) == (status, score), row
    assert re.search(reason, row["reason"]), row["reason"]
