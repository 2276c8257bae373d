"""The instructors' reference for probed tests: the solution notebook's own values, from the same probes.

A test cell is probed when its hidden part holds a PROBE block (run in the kernel) and an EXPECT block (run in
the grader), both inside `### BEGIN HIDDEN TESTS` so that nbgrader strips them from the release:

    <visible tests: what the student reads and runs>
    ### BEGIN HIDDEN TESTS        <- the release stops here
    from cnnlab.grading.probes import self_check
    probe, expect = self_check()  # a plain run of the solution checks its own rules; the grader ignores this
    ### BEGIN PROBE
    rng = np.random.default_rng(1)
    probe.record("random", conv2d(rng.normal(size=(7, 9)), rng.normal(size=(3, 2))))
    ### END PROBE
    ### BEGIN EXPECT
    expect.allclose("random")
    ### END EXPECT
    ### END HIDDEN TESTS          <- and resumes here

`compute` runs the solution notebook once per batch in a kernel of the grader's own interpreter (trusted:
the instructors' code), up to its last probed test cell, each probed test cell as its visible part followed by
its probe, and keeps the records in `work_dir/reference-<digest>/` (reused while the solution is unchanged).
"""

import hashlib
import json
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from cnnlab.grading.cells import nbg
from cnnlab.grading.jail.files import Folder
from cnnlab.grading.probes import _kernel, judge, wire
from cnnlab.grading.probes import _replay as replay

HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
BLOCKS = {"probe": ("### BEGIN PROBE", "### END PROBE"), "expect": ("### BEGIN EXPECT", "### END EXPECT")}


@dataclass
class ProbedTest:
    grade_id: str
    visible: str  # the cell as released: the hidden part removed
    probe: str
    expect: str


def _blocks(source, begin, end):
    return re.findall(rf"^{re.escape(begin)}[ \t]*\n(.*?)^{re.escape(end)}[ \t]*$", source, re.M | re.S)


def split(source, grade_id):
    """The ProbedTest of a test cell's source, or None for a cell of asserts only (the kernel-asserts path)."""
    hidden = "".join(_blocks(source, *HIDDEN))
    outside = re.sub(rf"^{re.escape(HIDDEN[0])}.*?^{re.escape(HIDDEN[1])}[ \t]*\n?", "", source, flags=re.M | re.S)
    parts = {}
    for kind, (begin, end) in BLOCKS.items():
        if begin in outside or end in outside:
            raise ValueError(
                f"{grade_id}: {begin} ... {end} must lie inside {HIDDEN[0]} ... {HIDDEN[1]}, "
                f"or the release would show it"
            )
        parts[kind] = "".join(_blocks(hidden, begin, end))
        if hidden.count(begin) != hidden.count(end) or hidden.count(begin) != len(_blocks(hidden, begin, end)):
            raise ValueError(f"{grade_id}: every {begin} needs its own {end} line, in that order")
    if not parts["probe"] and not parts["expect"]:
        return None
    if not parts["probe"] or not parts["expect"]:
        raise ValueError(
            f"{grade_id}: a probed test needs both a PROBE and an EXPECT block. "
            f"Received: {'PROBE' if parts['probe'] else 'EXPECT'} only"
        )
    return ProbedTest(grade_id, outside.rstrip("\n"), parts["probe"], parts["expect"])


def probed_tests(nb):
    """{grade_id: ProbedTest} for the notebook's probed test cells, in order."""
    tests = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and nbg(cell).get("grade") and nbg(cell).get("grade_id"):
            test = split(cell.source, nbg(cell)["grade_id"])
            if test:
                tests[test.grade_id] = test
    return tests


def harness_source(directory):
    """The cell that runs one probe in a kernel: the probe's code waits in `directory`, unknown until then."""
    return (
        "# cnnlab grader probe\n"
        f"__import__('cnnlab.grading.probes._kernel', fromlist=['run']).run({str(directory)!r}, globals())"
    )


def new_probe_run(parent, code, calls=None):
    """A fresh folder in `parent` (a `jail.files.Folder`: made and written through its descriptor, handed to the
    jail's uid when the grader is root), with a random name, holding the probe's code for `harness_source`; the
    new `Folder`, held open. `calls`: the reference's recorded calls (a file), for the probe's `using_reference`
    stand-ins."""
    directory = parent.make_folder(f".cnnlab-probe-{secrets.token_hex(12)}")
    try:
        directory.write(wire.CODE, code)
        if calls:
            directory.copy_in(calls, replay.REPLAYED, mode=0o600)
    except BaseException:
        directory.close()
        raise
    return directory


_LOADED = {}


def load(path):
    """{grade_id: {"probe", "expect", "reference_records"}} of the batch's reference, or {} (no probed test)."""
    if not path:
        return {}
    if path not in _LOADED:
        tests = json.loads(Path(path).read_text())["tests"]
        for test in tests.values():
            test["reference_records"], _ = judge.read_records(test["records"])
        _LOADED[path] = tests
    return _LOADED[path]


def _digest(solution_path, quick):
    h = hashlib.sha256(Path(solution_path).read_bytes())
    for module in (_kernel, judge, replay, wire):
        h.update(Path(module.__file__).read_bytes())
    h.update(b"quick" if quick else b"full")
    return h.hexdigest()[:16]


def compute(solution_path, work_dir, quick=False, env=None, timeout=600):
    """Path of the reference's JSON ({"tests": {grade_id: {"probe", "expect", "records"}}}), or None when the
    lab has no probed test. Raises RuntimeError when the solution's own probe fails or breaks its rules."""
    nb = nbformat.read(solution_path, as_version=4)
    tests = probed_tests(nb)
    if not tests:
        return None
    target = Path(work_dir) / f"reference-{_digest(solution_path, quick)}"
    index_path = target / "reference.json"
    if index_path.exists():
        return index_path
    if target.exists():
        shutil.rmtree(target)
    (target / "cwd").mkdir(parents=True)
    records = _run(nb, tests, target, quick, env, timeout)
    index = {"solution": str(solution_path), "quick": quick, "tests": {}}
    for grade_id, test in tests.items():
        values, error = judge.read_records(records[grade_id])
        if error:
            raise RuntimeError(
                f"{grade_id}: the solution's own probe stopped with {error}; fix its PROBE block in {solution_path}"
            )
        verdict = judge.judge(test.expect, values, values, label=grade_id)
        if not verdict.passed:
            raise RuntimeError(f"{grade_id}: the solution fails its own EXPECT rules ({'; '.join(verdict.failures)})")
        index["tests"][grade_id] = {"probe": test.probe, "expect": test.expect, "records": str(records[grade_id])}
        calls = records[grade_id] / replay.RECORDED
        if calls.is_file():
            index["tests"][grade_id]["calls"] = str(calls)
    index_path.write_text(json.dumps(index, indent=1))
    return index_path


def _run(nb, tests, target, quick, env, timeout):
    """Run the solution up to its last probed test; returns {grade_id: records folder}."""
    import os

    from nbclient import NotebookClient

    last = max(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") in tests)
    cells, runs = [], {}
    for cell in nb.cells[: last + 1]:
        if cell.cell_type != "code":
            continue
        test = tests.get(nbg(cell).get("grade_id")) if nbg(cell).get("grade") else None
        if test is None:
            cells.append((cell, None))
            continue
        cells.append((nbformat.v4.new_code_cell(test.visible), None))
        cells.append((nbformat.v4.new_code_cell(""), test))
    run_nb = nbformat.v4.new_notebook(cells=[c for c, _ in cells], metadata=nb.metadata)
    client = NotebookClient(
        run_nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(target / "cwd")}},
    )
    kernel_env = dict(
        env if env is not None else os.environ,
        CNNLAB_GRADING="1",
        CNNLAB_QUICK="1" if quick else "0",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONWARNINGS="ignore",
    )
    with client.setup_kernel(env=kernel_env), Folder.open(target) as folder:
        for index, (cell, test) in enumerate(cells):
            if test is not None:
                with new_probe_run(folder, test.probe) as directory:
                    cell.source = harness_source(directory.path)
                    runs[test.grade_id] = Path(directory.path)
            client.execute_cell(cell, index, store_history=test is None)
            failed = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if failed and test is not None:
                raise RuntimeError(
                    f"{test.grade_id}: the reference's probe cell failed ({failed[0].ename}: {failed[0].evalue})"
                )
    return runs
