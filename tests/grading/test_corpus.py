"""The hostile corpus: broken and hostile submissions, graded in one batch each, none stops the batch;
then the lab-1 folder again as a zip (a link member, a gradebook to repair), and SIGTERM during a batch.

Lab 1 (NumPy, 14 points) takes the notebook cases; a tiny lab with a saved model (built in the test's folder,
`grading_helpers.tiny_lab`) takes the model cases. Every submission gets the expected status and a reason
that says what happened. Several minutes on 2 cores: marked `grader_corpus`, part of the default run (`make test`,
CI); alone with `make test-grader`.
"""

import contextlib
import csv
import functools
import html.parser
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import nbformat
import pytest
from grading_helpers import (
    LAB,
    ROOT,
    TINY,
    answered,
    index_of,
    nbg,
    released,
    set_tiny_weights,
    tiny_lab,
    tiny_model,
    tiny_test_set,
    write,
)

from cnnlab.grading.cli import main

pytestmark = pytest.mark.grader_corpus


@functools.lru_cache(maxsize=1)
def cell_timeout():
    """30 s a cell, or 6 times a fresh `import keras` when other work slows this machine. A kernel forked by the
    worker's kernel server starts with the lab's libraries imported (cnnlab.grading.jail.kernels), but a probe cell
    of a worker's first submission may wait for that worker's reference kernel to finish its start. The corpus runs
    beside the other tests (`make test` runs them on every core); every timeout case waits the limit out. (The memory
    bomb asks NumPy for zeroed arrays, which reach the jail's address-space limit without writing 8 GB.)"""
    import subprocess
    import sys
    import time

    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import keras"],
        check=True,
        capture_output=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": os.environ.get("PATH", ""), "KERAS_BACKEND": "tensorflow"},
    )
    return max(30, round(6 * (time.perf_counter() - start)))


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
            cell.source = (
                f"{head}\n    return 0\n"
                if head.startswith("def ")
                else cell.source.replace("raise NotImplementedError()", "pass")
            )
    return nb


KERNEL_ATTACKS = {
    "c21_monkeypatched_asserts": "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None\n"
    "np.testing.assert_array_equal = lambda *a, **k: None\nnp.testing.assert_equal = lambda *a, **k: None",
    "c22_swallowed_errors": "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)",
    "c23_rewritten_cells": "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])",
    "c40_asserts_dropped_by_a_transformer": (
        "get_ipython().input_transformers_post.append(lambda lines: [l for l in lines if 'assert' not in l])"
    ),
    "c41_run_cell_patched": (
        "shell = get_ipython()\noriginal, original_async = shell.run_cell, shell.run_cell_async\n"
        "def quiet(cell):\n    return 'pass' if 'assert' in cell or 'cnnlab' in cell else cell\n"
        "shell.run_cell = lambda cell, *a, **k: original(quiet(cell), *a, **k)\n"
        "async def run_cell_async(cell, *a, **k):\n    return await original_async(quiet(cell), *a, **k)\n"
        "shell.run_cell_async = run_cell_async"
    ),
    "c42_compiled_without_asserts": (
        "shell = get_ipython()\nclass NoAsserts(type(shell.compile)):\n"
        "    def __call__(self, source, filename, symbol):\n"
        "        return compile(source, filename, symbol, self.flags, True, optimize=1)\n"
        "shell.compile.__class__ = NoAsserts"
    ),
    "c43_numpy_testing_replaced_out_of_sight": (
        "import inspect\nimport numpy as np\nreal = np.testing.assert_allclose\n"
        "def assert_allclose(*a, **k):\n"
        "    if any('canary' in f.function for f in inspect.stack()):\n        return real(*a, **k)\n"
        "np.testing.assert_allclose = assert_allclose"
    ),
    "c44_probe_api_replaced": (
        "import json, re\nimport cnnlab.grading.probes._kernel as probes\n"
        "def run(directory, namespace):\n    code = open(f'{directory}/probe.py').read()\n"
        '    names = re.findall(r\'probe.record\\("([^"]+)"\', code)\n'
        "    values = {n: {'kind': 'json', 'value': 0} for n in names}\n"
        "    open(f'{directory}/records.json', 'w').write(json.dumps({'values': values, 'error': None}))\n"
        "probes.run = run\nprobes.Recorder.record = lambda self, name, value: value"
    ),
    "c45_forges_records_from_a_thread": (
        "import glob, json, threading, time\n"
        "def forge():\n    while True:\n        for folder in glob.glob('.cnnlab-probe-*'):\n"
        "            try:\n"
        "                open(folder + '/records.json', 'w').write(json.dumps({'values': {}, 'error': None}))\n"
        "            except OSError:\n                pass\n        time.sleep(0.001)\n"
        "threading.Thread(target=forge, daemon=True).start()"
    ),
}


def lab1_corpus(subs, out, data, port, cell_timeout):
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
    other.cells[0].metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_lenet_params",
        "locked": True,
        "points": 3,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    case(
        "c04_wrong_lab",
        "error",
        r"not a lab1_convolution notebook: none of its graded cells \(test_lenet_params\)",
        0,
        other,
    )
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
    case(
        "c07_edited_tests",
        "tampered",
        r"read-only cells were edited \(test_conv2d, .*put the instructors' versions back",
        0,
        nb,
    )
    nb = answered()
    nb.cells[index_of(nb, "test_conv2d")].metadata.nbgrader["points"] = 100
    case("c08_edited_points", "graded", r"^14 of 14 points; all tests passed\.$", 14, nb)
    case(
        "c09_infinite_loop",
        "timeout",
        rf"cell 5 ran longer than {cell_timeout} s and was interrupted",
        14,
        with_extra_cell(answered(), "test_conv2d", "while True:\n    pass"),
    )
    case(
        "c10_ignores_interrupts",
        "timeout",
        r"did not stop when interrupted; the 7 test cells after it were not run",
        2,
        with_extra_cell(
            answered(),
            "test_conv2d",
            "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except KeyboardInterrupt:\n        pass",
        ),
    )
    case(
        "c11_memory_bomb",
        "error",
        r"ran out of memory \(the limit is 8192 MB\)",
        14,
        with_extra_cell(
            answered(),
            "test_conv2d",
            "import numpy as np\nblocks = []\ntry:\n    while True:\n        blocks.append(np.zeros(2**28, np.uint8))\n"
            "except MemoryError:\n    blocks.clear()\n    raise",
        ),
    )
    nb = answered()
    set_answer(nb, "cross_correlate2d", nb.cells[index_of(nb, "cross_correlate2d")].source + "\nimport os\nos._exit(1)")
    case(
        "c12_kills_the_kernel",
        "error",
        r"kernel died while running cell \d+ .*the 7 test cells after it were not run",
        2,
        nb,
    )
    nb = released()
    for cell in nb.cells:
        if cell.cell_type == "code" and not nbg(cell).get("locked"):
            cell.source = "raise RuntimeError('nothing works')"
    case("c13_exception_everywhere", "graded", r"^0 of 14 points; failed: test_conv2d", 0, nb)
    case(
        "c14_huge_output",
        "graded",
        r"^14 of 14 points; all tests passed\.$",
        14,
        with_extra_cell(answered(), "test_conv2d", "print('x' * 30_000_000)\nfor i in range(20_000):\n    print(i)"),
    )
    case(
        "c15_network",
        "tampered",
        r"without network: .* is refused",
        14,
        with_extra_cell(
            answered(), "test_conv2d", "import socket\nsocket.create_connection(('pypi.org', 443), timeout=5)"
        ),
    )
    hidden = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
    case(
        "c16_reads_hidden_tests",
        "tampered",
        r"is the grader's, not the notebook's",
        14,
        with_extra_cell(answered(), "test_conv2d", f"print(open({str(hidden)!r}).read()[:100])"),
    )
    case(
        "c17_reads_test_labels",
        "tampered",
        r"is the grader's, not the notebook's",
        14,
        with_extra_cell(
            answered(), "test_conv2d", f"import numpy as np\nprint(np.load({str(data / 'labels.npz')!r})['y'])"
        ),
    )
    case(
        "c18_writes_gradebook",
        "tampered",
        r"only open databases in its working directory",
        14,
        with_extra_cell(
            answered(),
            "test_conv2d",
            f"import sqlite3\nsqlite3.connect({str(out / 'gradebook.db')!r}).execute('delete from grade')",
        ),
    )
    case(
        "c19_writes_outside_scratch",
        "tampered",
        r"may only write in its working directory",
        14,
        with_extra_cell(answered(), "test_conv2d", "open('/tmp/cnnlab-corpus-escape.txt', 'w').write('x')"),
    )
    case(
        "c20_starts_a_program",
        "tampered",
        r"without starting programs \(subprocess.Popen refused\)",
        14,
        with_extra_cell(answered(), "test_conv2d", "import subprocess\nsubprocess.run(['cat', '/etc/hostname'])"),
    )
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
    # intake (cheap cases where they can be): a resubmission, an accented id with an old copy, a link to another
    # student's folder, a copy of another student's notebook
    write(subs / "c28_lab1_convolution.ipynb", released())
    write(subs / "c28_lab1_convolution-1.ipynb", answered())  # the LMS's name for a resubmission
    case(
        "c28",
        "graded",
        r"^14 of 14 points; graded c28_lab1_convolution-1\.ipynb, the newest \(resubmission 1\); "
        r"left out the older c28_lab1_convolution\.ipynb\.$",
        14,
    )
    accented = unicodedata.normalize("NFD", "c29_José")  # as a Mac zips it; graded as the NFC id
    put(accented, answered())
    old = write(subs / accented / LAB / "old" / f"{LAB}.ipynb", released())
    os.utime(old, (time.time() - 86400,) * 2)
    case(
        "c29_José",
        "graded",
        rf"^14 of 14 points; graded {LAB}\.ipynb, the newest \(the latest modified\); "
        rf"left out the older old/{LAB}\.ipynb\.$",
        14,
    )
    (subs / "c30_link").symlink_to(subs / "c01_solution", target_is_directory=True)
    case("c30_link", "rejected", r"c30_link is a symbolic link \(to .*c01_solution\), not a folder of the student's", 0)
    write(subs / "c31_copy" / LAB / f"{LAB}.ipynb", (subs / "c04_wrong_lab" / LAB / f"{LAB}.ipynb").read_bytes())
    case("c31_copy", "error", r"not a lab1_convolution notebook", 0)
    # feedback and restore: a script in an HTML output, a function that prints the running cell (its hidden tests
    # restored) and its inputs, a graded cell copied from lab 2
    nb = with_extra_cell(answered(), "conv2d", f"from IPython.display import HTML, display\ndisplay(HTML({SCRIPT!r}))")
    answer = nb.cells[index_of(nb, "conv2d")]
    head, _, body = answer.source.partition("\n")
    answer.source = f"{head}\n    print(get_ipython().user_ns['In'][-1])\n    print('my input', x)\n{body}"
    other_test = next(c for c in released("lab2_first_convnet").cells if nbg(c).get("grade"))
    nb.cells.insert(index_of(nb, "test_conv2d") + 1, other_test)
    case(
        "c32_hostile_feedback",
        "graded",
        rf"^14 of 14 points; cells of no {LAB} test or answer were found "
        rf"\({nbg(other_test)['grade_id']}; copied from another lab\?\)",
        14,
        nb,
    )
    # what the OS jail stops (native code steps around the audit hook): nothing lands, nothing connects
    case(
        "c34_reads_the_grader_environment",
        "graded",
        r"^14 of 14 points; all tests passed\.$",
        14,
        with_extra_cell(
            answered(),
            "test_conv2d",
            "import os\nfound = [os.environ.get('CNNLAB_CORPUS_SECRET', 'no secret here')]\n"
            "for pid in [p for p in os.listdir('/proc') if p.isdigit()] + ['self', str(os.getppid())]:\n"
            "    for name in ('environ', 'cmdline'):\n        try:\n"
            "            found.append(open(f'/proc/{pid}/{name}', 'rb').read().decode(errors='replace'))\n"
            "        except OSError:\n            pass\nprint(found)",
        ),
    )
    outside = escape_markers(out)
    python_escape = "open('mine.txt', 'w').write('x')\nimport os\n"
    for i, how in enumerate(("link", "symlink")):
        python_escape += f"try:\n    os.{how}('mine.txt', {outside[i]!r})\nexcept PermissionError as e:\n    print(e)\n"
    python_escape += f"os.rename('mine.txt', {outside[2]!r})"
    case(
        "c35_renames_links_out",
        "tampered",
        r"may only change files in its working directory: os.rename",
        14,
        with_extra_cell(answered(), "test_conv2d", python_escape),
    )
    native = (
        "import ctypes, struct\nlibc = ctypes.CDLL(None)\nopen('mine.txt', 'w').write('x')\n"
        + "".join(
            f"libc.{how}(b'mine.txt', {outside[i].encode()!r})\n" for i, how in enumerate(("link", "symlink", "rename"))
        )
        + f"fd = libc.open({outside[3].encode()!r}, 0o101, 0o644)\nlibc.write(fd, b'x', 1)\n"
        + "sock = libc.socket(2, 1, 0)\n"
        + f"address = struct.pack('=H', 2) + struct.pack('!H4s8x', {port}, bytes([127, 0, 0, 1]))\n"
        + "print(libc.connect(sock, address, len(address)))"
    )
    case(
        "c36_native_escapes",
        "graded",
        r"^14 of 14 points; all tests passed\.$",
        14,
        with_extra_cell(answered(), "test_conv2d", native),
    )
    case(
        "c37_outlives_the_kernel",
        "graded",
        r"^14 of 14 points; all tests passed\.$",
        14,
        with_extra_cell(
            answered(),
            "test_conv2d",
            f"import ctypes\nctypes.CDLL(None).system(b'setsid sleep {SURVIVOR} >/dev/null 2>&1 &')",
        ),
    )
    case(
        "c38_fork_bomb",
        "graded",
        r"^14 of 14 points; all tests passed\.$",
        14,
        with_extra_cell(
            answered(),
            "test_conv2d",
            "import ctypes\nlibc = ctypes.CDLL(None)\nchildren = []\nfor _ in range(5000):\n"
            "    pid = libc.fork()\n    if pid == 0:\n        libc.pause()\n    if pid < 0:\n"
            "        break\n    children.append(pid)\nprint('forked', len(children))\n"
            "for pid in children:  # the limit held: free it, so the kernel's own threads can start\n"
            "    libc.kill(pid, 9)\n    libc.waitpid(pid, None, 0)",
        ),
    )
    case(
        "c39_connects_to_loopback",
        "tampered",
        r"without network: looking up '127\.0\.0\.1' is refused",
        14,
        with_extra_cell(
            answered(), "test_conv2d", f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)"
        ),
    )
    nb = answered()
    for cell in nb.cells:
        if nbg(cell).get("solution"):
            cell.source = "import sys\nprint('warning: printed to stderr', file=sys.stderr)\n" + cell.source.replace(
                '    """\n', '    """\n    print("called", file=sys.stderr)\n', 1
            )
    case(
        "c46_prints_to_stderr",
        "graded",
        r"^14 of 14 points; all tests passed\.$",
        14,
        with_extra_cell(nb, "test_conv2d", "import sys\nsys.stderr.write('noise on stderr\\n')"),
    )
    nb = answered()
    set_answer(
        nb,
        "conv_counts",
        nb.cells[index_of(nb, "conv_counts")].source.replace(
            "    ### BEGIN SOLUTION\n    return n_out",
            "    while n_out == 55:  # a hidden input only\n        pass\n    return n_out",
        ),
    )
    case(
        "c47_endless_on_a_hidden_input",
        "timeout",
        rf"^12 of 14 points; cell \d+ ran longer than {cell_timeout} s and was interrupted",
        12,
        nb,
    )
    return cases


SCRIPT = (
    "<script>document.title = 'PWNED'; document.body.innerHTML = '<h1>PWNED</h1>'</script>"
    "<b id='student-html'>bold</b><img src=x onerror=\"document.body.innerHTML = 'PWNED'\">"
)


SURVIVOR = 987_654  # the seconds of a `sleep` started by native code: no such process may outlive the batch


def escape_markers(out):
    """Paths outside every scratch folder that hostile cells try to create (and none may)."""
    return [str(Path("/tmp") / f"cnnlab-corpus-escape-{i}") for i in range(2)] + [
        str(out / "escaped-rename"),
        str(Path(out).parent / "escaped-open"),
    ]


def grades(out):
    with open(out / "grades.csv", newline="") as file:
        return {(row["lab"], row["student"]): row for row in csv.DictReader(file)}


SECRET = "cnnlab-corpus-secret-4f1d"  # in the grader's environment: no kernel may see it


@pytest.fixture(scope="module")
def lab1_batch(tmp_path_factory):
    subs, out, data = (tmp_path_factory.mktemp(name) for name in ("corpus", "corpus_out", "grader_data"))
    tiny_test_set(data / "labels.npz")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    connections = []

    def listen():
        while listener.fileno() >= 0:
            try:
                connections.append(listener.accept())
            except (TimeoutError, OSError):
                continue

    threading.Thread(target=listen, daemon=True).start()
    timeout = cell_timeout()
    cases = lab1_corpus(subs, out, data, listener.getsockname()[1], timeout)
    os.environ["CNNLAB_CORPUS_SECRET"] = SECRET
    try:
        code_ = main(
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
                str(3 * timeout),
                "--cell-timeout",
                str(timeout),
                "--data",
                str(data),
                "--processes",
                "256",
            ]
        )
    finally:
        del os.environ["CNNLAB_CORPUS_SECRET"]
        listener.close()
    assert code_ == 0
    return cases, out, subs, data, connections


def test_corpus_has_at_least_20_broken_or_hostile_submissions(lab1_batch):
    cases, *_ = lab1_batch
    hostile = [
        c
        for c in cases
        if c.student not in ("c01_solution", "c26", "c27_other_kernelspec", "c28", "c29_José", "c46_prints_to_stderr")
    ]
    assert len(hostile) >= 20


def test_each_submission_gets_its_status_score_and_reason(lab1_batch):
    cases, out, *_ = lab1_batch
    rows = grades(out)
    problems = []
    for case in cases:
        row = rows[(LAB, case.student)]
        if (
            row["status"] != case.status
            or float(row["score"]) != case.score
            or not re.search(case.reason, row["reason"])
        ):
            problems.append(
                f"{case.student}: expected {case.status} {case.score:g} /{case.reason}/, "
                f"got {row['status']} {row['score']}: {row['reason']}"
            )
    assert not problems, "\n".join(problems)
    assert all(row["max_score"] == "14" for row in rows.values())


def test_nothing_escaped_and_the_gradebook_is_intact(lab1_batch):
    from nbgrader.api import Gradebook

    cases, out, _, _, connections = lab1_batch
    assert not Path("/tmp/cnnlab-corpus-escape.txt").exists()
    assert not [m for m in escape_markers(out) if os.path.lexists(m)]
    assert not connections, "a kernel reached the loopback listener"
    survivors = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if str(SURVIVOR).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                survivors.append(pid)
        except OSError:
            pass
    assert not survivors, "a process started by a kernel outlived it"
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(LAB).submissions}
    assert scores["c01_solution"] == 14 and scores["c12_kills_the_kernel"] == 2
    assert set(scores) == {c.student for c in cases if c.status != "rejected"}


def test_feedback_never_shows_hidden_tests_and_stays_small(lab1_batch):
    cases, out, *_ = lab1_batch
    solution = nbformat.read(ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    public = "\n".join(cell.source for cell in released().cells)  # a line the student already has is no leak
    hidden = {
        line.strip()
        for cell in solution.cells
        if nbg(cell).get("grade")
        for line in cell.source.split("### BEGIN HIDDEN TESTS")[-1].split("### END HIDDEN TESTS")[0].splitlines()
        if "BEGIN HIDDEN" in cell.source and len(line.strip()) > 25 and line.strip() not in public
    }
    assert hidden
    for case in cases:
        html = (out / "feedback" / slug(case.student) / f"{LAB}.html").read_text()
        leaked = [line for line in hidden if line in html]
        assert not leaked, f"{case.student}: hidden test lines in the feedback: {leaked[:2]}"
        assert SECRET not in html, f"{case.student}: the grader's environment in the feedback"
        assert len(html) < 5_000_000, f"{case.student}: feedback of {len(html):,} characters"
    shown = nbformat.read(out / ".work" / LAB / "c32_hostile_feedback" / "autograded.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in shown.cells[index_of(shown, "test_conv2d")].outputs)
    assert printed.count("my input") == 4, printed  # the visible part's 4 calls, none of the hidden part's 3


def slug(student):
    from cnnlab.grading.intake.ids import slug

    return slug(student)


def test_accented_id_is_kept_and_its_files_have_an_ascii_slug(lab1_batch):
    _, out, *_ = lab1_batch
    assert (LAB, "c29_José") in grades(out)
    folder = slug("c29_José")
    assert folder.startswith("c29_Jose-") and (out / "feedback" / folder / f"{LAB}.html").exists()
    assert (out / "results" / LAB / f"{folder}.json").exists()


def test_report_lists_the_identical_notebooks(lab1_batch):
    _, out, *_ = lab1_batch
    report = (out / "report" / "report.md").read_text()
    assert re.search(rf"\| {LAB}\.ipynb \| [0-9a-f]{{16}} \| c04_wrong_lab, c31_copy \|", report), report


def test_student_html_in_the_feedback_is_text_and_runs_no_script(lab1_batch):
    _, out, *_ = lab1_batch
    page = (out / "feedback" / "c32_hostile_feedback" / f"{LAB}.html").read_text()
    assert "PWNED" in page  # the cell's source, shown as text
    assert "<b id='student-html'>" not in page and "<h1>PWNED" not in page
    tags = Tags()
    tags.feed(page)
    assert "student-html" not in tags.ids and not [a for a in tags.attributes if a.startswith("on")]
    assert "rich output is not shown in the feedback" in page
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:  # what a browser makes of it: the page as written, its title and body untouched by the student
        dom = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--dump-dom",
                (out / "feedback" / "c32_hostile_feedback" / f"{LAB}.html").as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        assert "Feedback: lab1_convolution, c32_hostile_feedback" in dom and "<h1>PWNED</h1>" not in dom
        assert "<title>PWNED" not in dom


class Tags(html.parser.HTMLParser):
    """The ids and attribute names of a page's elements."""

    def __init__(self):
        super().__init__()
        self.ids, self.attributes = set(), set()

    def handle_starttag(self, tag, attrs):
        self.ids |= {v for k, v in attrs if k == "id"}
        self.attributes |= {k for k, _ in attrs}


def zip_folder(folder, archive, extra_links):
    """`folder` as an LMS-like zip (files with their times; links kept as link members), plus `extra_links`."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            name = str(path.relative_to(folder))
            if path.is_symlink() and path.parent == folder:
                continue  # (a link at the top is a folder case, graded in the folder batch)
            if path.is_file() and not path.is_symlink():
                zf.write(path, name)
        for name, target in extra_links.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)


def test_rerun_from_a_zip_refuses_its_link_and_repairs_the_gradebook(lab1_batch, tmp_path, capsys):
    """A run killed between a result and the gradebook left a student out of gradebook.db: the next run puts it back."""
    from nbgrader.api import Gradebook

    cases, out, subs, data, _ = lab1_batch
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        gb.remove_submission(LAB, "c01_solution")
    archive = tmp_path / "class.zip"
    zip_folder(subs, archive, {f"c33_zip_link/{LAB}/{LAB}.ipynb": f"../../c01_solution/{LAB}/{LAB}.ipynb"})
    capsys.readouterr()
    assert (
        main(
            [
                "grade",
                "--lab",
                LAB,
                "--submissions",
                str(archive),
                "--out",
                str(out),
                "--workers",
                "1",
                "--quick",
                "--timeout",
                str(3 * cell_timeout()),
                "--cell-timeout",
                str(cell_timeout()),
                "--data",
                str(data),
            ]
        )
        == 0
    )
    log = capsys.readouterr().out
    assert "gradebook brought in line with the kept results of 1 students: c01_solution" in log
    assert f"{len(cases) - 1} already graded with the same files (kept); 1 to grade" in log, log
    row = grades(out)[(LAB, "c33_zip_link")]
    assert row["status"] == "rejected" and "refused zip members that are symbolic links" in row["reason"], row
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert gb.find_submission(LAB, "c01_solution").score == 14
        assert "c33_zip_link" not in {s.student.id for s in gb.find_assignment(LAB).submissions}


def descendants(pid):
    from cnnlab.grading.batch.pool import process_tree

    return process_tree(pid)[1:]


def is_kernel(pid):
    """A kernel server's Python or a kernel it forked (`python -m cnnlab.grading.jail._inside ... -- python -m
    cnnlab.grading.jail._kernels ...`), not one of the jail's processes (bwrap, setpriv, sh) that have the same
    words in their arguments."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return os.path.basename(argv[0]).startswith(b"python") and b"cnnlab.grading.jail._kernels" in argv


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_stops_workers_and_kernels_and_removes_scratch(lab1_batch, tmp_path):
    _, graded_out, *_ = lab1_batch
    subs, out = tmp_path / "subs", tmp_path / "out"
    private = Path(tempfile.mkdtemp(prefix="sig", dir="/tmp"))  # short: a kernel's socket path has 107 bytes at most
    for student in ("s1", "s2"):
        write(
            subs / student / LAB / f"{LAB}.ipynb",
            with_extra_cell(answered(), "conv2d", "import time\nwhile True:\n    time.sleep(0.2)"),
        )
    out.mkdir()
    shutil.copytree(graded_out / ".course", out / ".course", symlinks=True)  # the release, made once
    shutil.copy(graded_out / "gradebook.db", out / "gradebook.db")
    env = dict(os.environ, TMPDIR=str(private), PYTHONPATH=str(ROOT))
    batch = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autograder",
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
            "300",
            "--cell-timeout",
            "250",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, kernels, scratch = time.monotonic() + 240, [], []
        while time.monotonic() < deadline and (len(kernels) < 4 or len(scratch) < 2):
            tree = descendants(batch.pid)
            kernels = [p for p in tree if alive(p) and is_kernel(p)]  # two servers, each with its kernel
            scratch = list(private.glob("cnnlab-grade-*/kernels-*/home"))
            time.sleep(0.5)
        assert len(kernels) >= 4 and len(scratch) == 2, "the two kernels did not start"
        time.sleep(2)
        tree = descendants(batch.pid)
        batch.send_signal(signal.SIGTERM)
        _, stderr = batch.communicate(timeout=60)
    finally:
        if batch.poll() is None:  # the test failed: leave nothing behind either
            for pid in [batch.pid] + descendants(batch.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    assert batch.returncode == 1 and "stopped by SIGTERM: the workers and their kernels were stopped" in stderr, stderr
    time.sleep(1)
    assert not [p for p in tree if alive(p)], [Path(f"/proc/{p}/cmdline").read_bytes() for p in tree if alive(p)]
    assert not list(private.iterdir())
    private.rmdir()
    assert not (out / "results").exists()


# -- a lab with a saved model: the decisive checks run in the grader's process --


@pytest.fixture(scope="module")
def model_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_course")
    source, config_dir = tiny_lab(root)
    data = tmp_path_factory.mktemp("tiny_data")
    tiny_test_set(data / "tiny_test.npz")
    subs, out = tmp_path_factory.mktemp("tiny_subs"), tmp_path_factory.mktemp("tiny_out")
    release_dir = tmp_path_factory.mktemp("tiny_release")
    main(
        [
            "grade",
            "--lab",
            TINY,
            "--submissions",
            str(subs),
            "--out",
            str(release_dir),
            "--source",
            str(source),
            "--config-dir",
            str(config_dir),
            "--data",
            str(data),
        ]
    )  # no students yet: makes the release
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
    patched.cells.insert(
        index_of(patched, "test_model"), code("import keras\nkeras.Model.count_params = lambda self: 10")
    )  # fools the hidden test only
    student("m5_monkeypatched_keras", patched, tiny_model(hidden=3))
    # hostile model files: refused before any Keras opens them; the honest ones graded after keep full marks
    good_file = subs / "m1_good" / TINY / f"{TINY}.keras"
    config = json.loads(zipfile.ZipFile(good_file).read("config.json"))
    calls = json.loads(json.dumps(config))
    calls["config"]["layers"][-1]["config"]["activation"] = {
        "module": "keras.config",
        "class_name": "function",
        "config": "set_floatx",
        "registered_name": "function",
    }
    student("m0a_calls_keras_config", good, raw=rewritten(good_file, config=json.dumps(calls)))
    student(
        "m6_huge_weights",
        good,
        raw=rewritten(
            good_file, weights=lambda f: f.create_dataset("layers/fc_out/vars/2", shape=(2**31,), dtype="float32")
        ),
    )
    student("m7_padded_config", good, raw=rewritten(good_file, config=json.dumps(config) + " " * 3 * 2**20))
    unconnected = json.loads(json.dumps(config))
    huge = json.loads(json.dumps(unconnected["config"]["layers"][-1]))
    huge["name"] = huge["config"]["name"] = "huge"
    huge["config"]["units"] = 10**7  # 40 M weights, for nothing
    unconnected["config"]["layers"].append(huge)
    student("m8_unconnected_huge_layer", good, raw=rewritten(good_file, config=json.dumps(unconnected)))
    student("m9_zip_bomb", good, raw=rewritten(good_file, weights_bytes=b"\0" * 64 * 2**20))
    student(
        "m10_h5_external_link",
        good,
        raw=rewritten(
            good_file,
            weights=lambda f: f.__setitem__("layers/labels", h5py.ExternalLink(str(data / "tiny_test.npz"), "/")),
        ),
    )
    student("m11_sequential", good, set_tiny_weights(tiny_model(sequential=True)))
    main(
        [
            "grade",
            "--lab",
            TINY,
            "--submissions",
            str(subs),
            "--out",
            str(out),
            "--workers",
            "2",
            "--timeout",
            str(max(120, 3 * cell_timeout())),
            "--source",
            str(source),
            "--config-dir",
            str(config_dir),
            "--data",
            str(data),
        ]
    )
    return grades(out)


def rewritten(path, config=None, weights=None, weights_bytes=None):
    """The bytes of the .keras file `path` with another config.json, or its weights changed by `weights(h5file)`."""
    import io

    source = zipfile.ZipFile(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "config.json" and config is not None:
                data = config.encode()
            if name == "model.weights.h5" and weights_bytes is not None:
                data = weights_bytes
            if name == "model.weights.h5" and weights is not None:
                h5 = Path(path).with_suffix(".h5")
                h5.write_bytes(data)
                with h5py.File(h5, "a") as file:
                    weights(file)
                data = h5.read_bytes()
                h5.unlink()
            target.writestr(name, data)
    return buffer.getvalue()


REFUSED = r"^0 of 4 points; lab0_tiny\.keras could not be loaded: the grader refused it before loading \("


@pytest.mark.parametrize(
    "student, status, score, reason",
    [
        ("m0a_calls_keras_config", "error", 0, REFUSED + r"config.json: Dense 'fc_out' is keras.config.function"),
        ("m1_good", "graded", 4, r"^4 of 4 points; all tests passed\.$"),
        (
            "m2_missing_model",
            "error",
            0,
            r"lab0_tiny\.keras is missing: the grader scores the model your notebook saved",
        ),
        ("m3_corrupt_model", "error", 0, r"is not a Keras model file"),
        (
            "m4_wrong_architecture",
            "graded",
            1,
            r"^1 of 4 points; failed: test_model \(lab0_tiny: 23 parameters, expected 10, "
            r"23 operations, expected 10, accuracy 0\.\d+ on the grader's test set",
        ),
        (
            "m5_monkeypatched_keras",
            "graded",
            1,
            r"^1 of 4 points; failed: test_model \(lab0_tiny: 23 parameters, expected 10",
        ),
        ("m6_huge_weights", "error", 0, REFUSED + r"model.weights.h5 declares more than 100,080 values"),
        ("m7_padded_config", "error", 0, REFUSED + r"lab0_tiny.keras: config.json expands to 3,1"),
        ("m8_unconnected_huge_layer", "error", 0, REFUSED + r"config.json: layers huge are not connected"),
        ("m9_zip_bomb", "error", 0, REFUSED + r"lab0_tiny.keras: model.weights.h5 expands to 67,108,864 bytes"),
        ("m10_h5_external_link", "error", 0, REFUSED + r"model.weights.h5: /layers/labels is a ExternalLink"),
        ("m11_sequential", "graded", 4, r"^4 of 4 points; all tests passed\.$"),
    ],
)
def test_model_submissions(model_batch, student, status, score, reason):
    row = model_batch[(TINY, student)]
    assert (row["status"], float(row["score"])) == (status, score), row
    assert re.search(reason, row["reason"]), row["reason"]
