"""The instructors' reference for probed tests: the test-cell format, and the batch's index of the tests.

A test cell is probed when its hidden part holds a PROBE block (run in the kernel) and an EXPECT block (run in
the grader), both inside `### BEGIN HIDDEN TESTS` so that nbgrader strips them from the release:

    <visible tests: what the student reads and runs>
    ### BEGIN HIDDEN TESTS        <- the release stops here
    from cnnlab.grading.probes import self_check
    probe, expect = self_check()  # a plain run of the solution checks its own rules; the grader ignores this
    ### BEGIN PROBE
    x, k = probe.rng.normal(size=(7, 9)), probe.rng.normal(size=(3, 2))
    probe.record("random", conv2d(x, k))
    ### END PROBE
    ### BEGIN EXPECT
    expect.allclose("random")
    ### END EXPECT
    ### END HIDDEN TESTS          <- and resumes here

`write_index` writes the index the workers read (`work_dir/reference-<digest>/reference.json`: each test's probe,
its EXPECT rules and the functions its stand-ins answer for), before the workers start; `check` then checks, once
per solution version, that the solution passes its own rules for a drawn seed, in the first worker's warm
`reference_kernel.ReferenceKernel` (the one that then serves that worker's submissions). The expected values
themselves are drawn per submission, in each worker's own reference kernel.
"""

import ast
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import nbformat

from cnnlab.grading.cells import nbg
from cnnlab.grading.probes import _kernel, _stand_ins, judge, reference_side, wire

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


def stand_in_names(probe, grade_id="test"):
    """The functions whose calls the grader answers for this probe: the str arguments of its
    `probe.using_reference(...)` calls (each must be a literal; ValueError otherwise: the lab author's to fix)."""
    names = []
    for node in ast.walk(ast.parse(probe)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "using_reference"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "probe"
        ):
            for argument in node.args:
                if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                    raise ValueError(
                        f"{grade_id}: probe.using_reference takes the names of the functions as str literals "
                        f"(the grader answers calls to those only). Received: {ast.unparse(argument)}"
                    )
                names.append(argument.value)
    return sorted(set(names))


def harness_source(directory, seed):
    """The cell that runs one probe in a kernel: the probe's code waits in `directory`, unknown until then; its
    inputs come from a generator seeded with `seed`."""
    return (
        "# cnnlab grader probe\n"
        f"__import__('cnnlab.grading.probes._kernel', fromlist=['run']).run({str(directory)!r}, globals(), {seed})"
    )


def new_probe_run(parent, code):
    """A fresh folder in `parent` (a `jail.files.Folder`: made and written through its descriptor, handed to the
    jail's uid when the grader is root, so that the kernel can read the code and write its records and calls in
    it), with a random name, holding the probe's code for `harness_source`; the new `Folder`, held open."""
    directory = parent.make_folder(f".cnnlab-probe-{secrets.token_hex(12)}")
    try:
        directory.write(wire.CODE, code)
    except BaseException:
        directory.close()
        raise
    return directory


_LOADED = {}


def load(path):
    """{grade_id: {"visible", "probe", "expect", "stand_ins"}} of the batch's index, or {} (no probed test)."""
    if not path:
        return {}
    if path not in _LOADED:
        _LOADED[path] = json.loads(Path(path).read_text())["tests"]
    return _LOADED[path]


def _digest(solution_path, quick):
    h = hashlib.sha256(Path(solution_path).read_bytes())
    for module in (_kernel, _stand_ins, judge, reference_side, wire):
        h.update(Path(module.__file__).read_bytes())
    h.update(b"quick" if quick else b"full")
    return h.hexdigest()[:16]


def write_index(solution_path, work_dir, quick=False):
    """Path of the reference's index ({"solution", "quick", "tests": {grade_id: {"visible", "probe", "expect",
    "stand_ins"}}}), written once per solution version, or None when the lab has no probed test; ValueError for a
    malformed test cell. The solution is not run here (`check`)."""
    nb = nbformat.read(solution_path, as_version=4)
    tests = {
        grade_id: {
            "visible": test.visible,
            "probe": test.probe,
            "expect": test.expect,
            "stand_ins": stand_in_names(test.probe, grade_id),
        }
        for grade_id, test in probed_tests(nb).items()
    }
    if not tests:
        return None
    target = Path(work_dir) / f"reference-{_digest(solution_path, quick)}"
    index_path = target / "reference.json"
    if not index_path.exists():
        target.mkdir(parents=True, exist_ok=True)
        index = {"solution": str(Path(solution_path).resolve()), "quick": quick, "tests": tests}
        part = target / f".reference-{secrets.token_hex(6)}.json"
        part.write_text(json.dumps(index, indent=1))
        part.replace(index_path)
    return index_path


def checked(index_path):
    """True when the solution of the index at `index_path` was checked (`check`) for this solution version."""
    return (Path(index_path).parent / "checked").exists()


def check(index_path, kernel):
    """Check that the solution of the index at `index_path` passes its own rules for a drawn seed, in `kernel` (the
    `reference_kernel.ReferenceKernel` of a worker, which then serves its submissions); RuntimeError when it does
    not (its message says which test and what to fix). Once per solution version (a `checked` file beside the
    index)."""
    if checked(index_path):
        return
    index = json.loads(Path(index_path).read_text())
    for grade_id, test in index["tests"].items():
        judge.check_solution(grade_id, test, *kernel.records(grade_id, secrets.randbits(128)).result())
    (Path(index_path).parent / "checked").write_text("")
