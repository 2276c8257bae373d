"""Probed tests without a kernel: the test-cell format, the records a probe writes, the grader's reader and rules.

The kernel runs (the student's and the reference's) are in tests/grading/test_lab_batches.py (one small batch per
lab) and the attacks on them in tests/grading/test_corpus.py.
"""

import json
import os

import nbformat
import numpy as np
import pytest
from grading_helpers import ROOT

from cnnlab.grading.jail.files import Folder, JailedDataError
from cnnlab.grading.probes import _kernel as probes
from cnnlab.grading.probes import judge, reference, reference_side, self_check, wire
from cnnlab.grading.probes.channel import CallServer
from cnnlab.grading.probes.judge import Record, read_records

CELL = """assert f(2) == 4
### BEGIN HIDDEN TESTS
from cnnlab.grading.probes import self_check
probe, expect = self_check()
### BEGIN PROBE
probe.record("square of 3", f(3))
### END PROBE
### BEGIN EXPECT
expect.equal("square of 3")
### END EXPECT
### END HIDDEN TESTS
"""


def test_a_test_cell_splits_into_visible_tests_probe_and_expect():
    test = reference.split(CELL, "test_f")
    assert test.visible == "assert f(2) == 4"
    assert test.probe == 'probe.record("square of 3", f(3))\n'
    assert test.expect == 'expect.equal("square of 3")\n'
    assert (
        reference.split("assert f(2) == 4\n### BEGIN HIDDEN TESTS\nassert f(3) == 9\n### END HIDDEN TESTS", "t") is None
    )


@pytest.mark.parametrize(
    "source, message",
    [
        (
            "### BEGIN PROBE\nprobe.record('a', 1)\n### END PROBE\n### BEGIN HIDDEN TESTS\n"
            "### BEGIN EXPECT\nexpect.equal('a')\n"
            "### END EXPECT\n### END HIDDEN TESTS",
            "must lie inside ### BEGIN HIDDEN TESTS",
        ),
        (
            "### BEGIN HIDDEN TESTS\n### BEGIN PROBE\nprobe.record('a', 1)\n### END PROBE\n### END HIDDEN TESTS",
            "needs both a PROBE and an EXPECT block. Received: PROBE only",
        ),
        (
            "### BEGIN HIDDEN TESTS\n### BEGIN PROBE\nx = 1\n### BEGIN EXPECT\nexpect.equal('a')\n### END EXPECT\n"
            "### END HIDDEN TESTS",
            "every ### BEGIN PROBE needs its own ### END PROBE",
        ),
    ],
)
def test_a_malformed_test_cell_says_what_to_fix(source, message):
    with pytest.raises(ValueError, match=message):
        reference.split(source, "test_x")


def recorded(tmp_path, values, error=None):
    """A probe folder as the kernel leaves it, with `values` recorded."""
    recorder = probes.Recorder(tmp_path)
    for name, value in values.items():
        recorder.record(name, value)
    recorder.error = error
    recorder.save()
    return read_records(tmp_path)


def test_records_round_trip_as_json_and_npy_without_pickle(tmp_path):
    records, error = recorded(
        tmp_path,
        {
            "array": np.arange(6.0).reshape(2, 3),
            "shape": (None, 10),
            "counts": (832, np.int64(479_232), (24, 24, 32)),
            "names": {"a": "fc1"},
            "mixed": [np.ones(2), np.zeros(2)],
            "object": object(),
        },
    )
    assert error is None
    assert records["array"].kind == "array" and records["array"].value.shape == (2, 3)
    assert records["shape"] == Record("json", [None, 10])
    assert records["counts"] == Record("json", [832, 479_232, [24, 24, 32]])
    assert records["names"] == Record("json", {"a": "fc1"})
    assert records["mixed"].kind == "array" and records["mixed"].value.shape == (2, 2)
    assert records["object"] == Record("unsupported", "object")
    assert not list(tmp_path.glob("*.pkl")) and json.loads((tmp_path / probes.RECORDS).read_text())["error"] is None


def test_a_name_is_recorded_once():
    recorder = probes.Recorder()
    recorder.record("a", 1)
    with pytest.raises(ValueError, match="'a' is recorded twice"):
        recorder.record("a", 2)


def rules(expect_code, student, reference_values, probe_error=None):
    return judge.judge(expect_code, student, reference_values, probe_error, label="test_x")


def arrays(**values):
    return {k: Record("array", np.asarray(v)) for k, v in values.items()}


def test_allclose_compares_shape_and_values_without_showing_the_expected_ones():
    expected = arrays(y=[[0.123456, 2.0], [3.0, 4.0]])
    assert rules("expect.allclose('y')", arrays(y=[[0.123456, 2.0], [3.0, 4.0]]), expected).passed
    verdict = rules("expect.allclose('y', rtol=1e-5)", arrays(y=[[0.2, 2.0], [3.0, 4.0]]), expected)
    assert not verdict.passed and verdict.failures == [
        "'y': 1 of 4 values differ from the expected ones (rtol=1e-05, atol=0)"
    ]
    assert "0.123" not in verdict.failures[0]
    verdict = rules("expect.allclose('y')", arrays(y=[1.0, 2.0, 3.0, 4.0]), expected)
    assert verdict.failures == ["'y' has shape (4,), not the expected one"]
    verdict = rules("expect.allclose('y')", {"y": Record("json", "text")}, expected)
    assert verdict.failures == ["'y' is not a number or a numeric array"]


def test_equal_is_exact_and_check_tests_a_property_of_the_student_value():
    expected = {"counts": Record("json", [832, 479_232, [24, 24, 32]]), "y": Record("array", np.array([1.0, -1.0]))}
    mine = {"counts": Record("json", [832, 479_232, [24, 24, 32]]), "y": Record("array", np.array([1.0, 0.0]))}
    code = "expect.equal('counts')\nexpect.check('y', lambda y: y.min() >= 0, 'ReLU: no negative values')"
    assert rules(code, mine, expected).passed
    mine["counts"] = Record("json", [832, 479_233, [24, 24, 32]])
    mine["y"] = Record("array", np.array([1.0, -1.0]))
    verdict = rules(code, mine, expected)
    assert verdict.failures == ["'counts' is not the expected value", "'y' fails a check: ReLU: no negative values"]
    assert rules("expect.equal('n')", {"n": Record("array", np.array(4))}, {"n": Record("json", 4)}).passed


def test_values_the_probe_did_not_record_fail_with_the_probe_error_once():
    expected = {name: Record("json", 1) for name in "abcde"}
    verdict = rules("for name in 'abcde':\n    expect.equal(name)", {}, expected, probe_error="NotImplementedError")
    assert verdict.failures == [
        "'a', 'b', 'c' and 2 more missing: the probe stopped with NotImplementedError in your code"
    ]


def test_a_test_without_rules_or_with_an_unknown_name_is_the_authors_error():
    with pytest.raises(ValueError, match="states no rule"):
        rules("pass", {}, {})
    with pytest.raises(ValueError, match="names 'b', which the reference's probe did not record; recorded: a"):
        rules("expect.equal('b')", {}, {"a": Record("json", 1)})


def test_self_check_judges_the_rules_on_the_solutions_own_values():
    probe, expect = self_check()
    probe.record("y", np.array([1.0, 2.0]))
    assert expect.names == ["y"]
    expect.allclose("y")
    expect.check("y", lambda y: y.min() > 0, "positive")
    with pytest.raises(AssertionError, match="fails on the solution's own values: 'y' fails a check: negative"):
        expect.check("y", lambda y: y.max() < 0, "negative")
    with pytest.raises(ValueError, match="names 'z'"):
        expect.equal("z")


def test_the_probe_runs_in_a_copy_of_the_namespace_and_records_its_exception(tmp_path):
    namespace = {"np": np, "f": lambda x: x * x, "g": lambda x: 1 / 0, "h": "the student's"}
    (tmp_path / probes.CODE).write_text("h = 2\nprobe.record('f', f(3))\nprobe.record('g', g(3))\n")
    probes.run(tmp_path, namespace, 0)
    assert namespace["h"] == "the student's" and "probe" not in namespace
    assert not (tmp_path / probes.CODE).exists()
    records, error = read_records(tmp_path)
    assert records == {"f": Record("json", 9)} and error == "ZeroDivisionError"


def notebook(source):
    """A notebook's globals after running `source` (its functions look their helpers up here, as in a kernel)."""
    namespace = {"np": np}
    exec(source, namespace)
    return namespace


HELPER_AND_TASK = """
def output_size(n, k, stride=1, padding=0):
    return (n + 2 * padding - k) // stride + {one}


def strided(x, k, stride=1, padding=0):
    side = output_size(x.shape[0], k, stride, padding)
    return np.full((side, side), x.sum())
"""
USING_REFERENCE = """with probe.using_reference("output_size"):
    n = int(probe.rng.integers(7, 20))
    probe.record("drawn, k 3, stride 2", strided(np.ones((n, n)), 3, 2).shape)
    probe.record("defaults named", output_size(7, 3, stride=1) == output_size(7.0, 3))
    try:
        output_size("7", 3)
    except TypeError as error:  # the solution's function raised it: the stand-in raises it too
        probe.record("a wrong call", type(error).__name__)
probe.record("after the block", output_size(7, 3))
"""


def student_probe(tmp_path, student, answer, code=USING_REFERENCE, names=("output_size",), seed=3):
    """Run `code` as a student's probe with `seed`, its stand-in calls answered by `answer` through the probe's
    folder, as the worker does; (records, error)."""
    with Folder.open(tmp_path) as home, reference.new_probe_run(home, code) as run:
        server = CallServer(run, "test_strided", names, answer).start()
        try:
            probes.run(run.path, student, seed)
        finally:
            server.stop()
        return read_records(run.path)


def solution_answers(tmp_path, solution):
    """The reference side's answers to the stand-ins of test_strided, from the `solution` notebook's globals."""
    reference_side.snapshot("test_strided", solution)
    asked = []

    def answer(grade_id, call):
        asked.append(json.loads(call))
        (tmp_path / "call.json").write_bytes(call)
        reference_side.answer(grade_id, tmp_path / "call.json", tmp_path / "answer.json")
        return (tmp_path / "answer.json").read_bytes()

    return answer, asked


def test_the_probes_inputs_come_from_the_seed_it_is_given(tmp_path):
    solution = notebook(HELPER_AND_TASK.format(one=1))
    answer, _ = solution_answers(tmp_path, solution)
    drawn = [student_probe(tmp_path, solution, answer, seed=seed)[0]["drawn, k 3, stride 2"] for seed in (3, 3, 4)]
    n = int(np.random.default_rng(3).integers(7, 20))
    assert drawn[0] == drawn[1] == Record("json", [(n - 3) // 2 + 1] * 2)
    probe, _ = self_check(seed=3)
    assert int(probe.rng.integers(7, 20)) == n


def test_a_stand_in_asks_the_grader_which_answers_with_the_solutions_function(tmp_path):
    solution = notebook(HELPER_AND_TASK.format(one=1))
    answer, asked = solution_answers(tmp_path, solution)
    student = notebook(HELPER_AND_TASK.format(one=2))  # a bug in output_size, a right `strided`
    own = student["output_size"]
    records, error = student_probe(tmp_path, student, answer)
    assert error is None
    n = int(np.random.default_rng(3).integers(7, 20))
    assert records["drawn, k 3, stride 2"] == Record("json", [(n - 3) // 2 + 1] * 2)  # the solution's output_size
    assert records["defaults named"] == Record("json", True)
    assert records["a wrong call"] == Record("json", "TypeError")
    assert records["after the block"] == Record("json", 6)  # the student's own again
    assert student["output_size"] is own
    assert [call["args"][:2] for call in asked] == [[n, 3], [7, 3], [7.0, 3], ["7", 3]]  # only the student's calls
    assert not list(tmp_path.glob(".cnnlab-probe-*/call-*")) and not list(tmp_path.glob(".cnnlab-probe-*/answer-*"))


def test_the_grader_answers_for_the_tests_own_stand_ins_only(tmp_path):
    solution = notebook(HELPER_AND_TASK.format(one=1))
    answer, asked = solution_answers(tmp_path, solution)
    code = (
        "import json, pathlib, time\n"
        "folder = pathlib.Path(probe.stand_ins.directory)\n"
        "def ask(call):\n"
        "    (folder / 'call-9.part').write_text(call)\n"
        "    (folder / 'call-9.part').rename(folder / 'call-9.json')  # whole, as the stand-ins write a call\n"
        "    while not (folder / 'answer-9.json').exists():\n"
        "        time.sleep(0.001)\n"
        "    reply = json.loads((folder / 'answer-9.json').read_text())\n"
        "    (folder / 'answer-9.json').unlink()\n"
        "    return reply\n"
        "probe.record('another function', ask(json.dumps({'function': 'strided', 'args': [], 'kwargs': {}})))\n"
        "probe.record('not JSON', ask('{'))\n"
        "probe.record('a pickled array', ask(json.dumps({'function': 'output_size', 'kwargs': {},\n"
        "    'args': [{'array': [1], 'dtype': '|O', 'shape': [1]}, 3]})))\n"
        'huge = \'{"function": "output_size", "kwargs": {}, "args": [1\' + \'0\' * 5000 + \', 3]}\'\n'
        "probe.record('a huge integer', ask(huge))\n"
    )
    records, error = student_probe(tmp_path, solution, answer, code)
    assert error is None and not asked
    for name, message in [
        ("another function", "the grader answers for output_size in this test only"),
        ("not JSON", "the grader does not pass these arguments on"),
        ("a pickled array", "an array of dtype '|O'"),
        ("a huge integer", "the grader does not pass these arguments on"),
    ]:
        assert message in records[name].value["message"], records[name]


def test_packed_values_keep_their_types_and_odd_ones_are_refused():
    results = [
        (1, 2.5, (3, "a")),
        [np.arange(6, dtype="float32").reshape(2, 3)],
        {"k": None},
        np.int64(4),
        float("inf"),
    ]
    for result in results:
        packed = json.loads(json.dumps(wire.pack(result)))
        wire.check_packed(packed)
        assert repr(wire.unpack(packed)) == repr(result.item() if isinstance(result, np.generic) else result)
    with pytest.raises(wire.NotPlain):
        wire.pack(object())
    for odd in [
        {"array": [[1, 2], [3]], "dtype": "<f8", "shape": [2, 2]},
        {"array": [1, 2], "dtype": "<f8", "shape": [2], "extra": 1},
        {"array": [{"a": 1}], "dtype": "<f8", "shape": [1]},
        {"array": [1], "dtype": "O", "shape": [1]},
        {"array": [], "dtype": "<f8", "shape": [10**9, 0, -1]},
        {"float": "1e999"},
        {"tuple": 5},
        json.loads("[" * 40 + "1" + "]" * 40),
        "x" * 20_000,
    ]:
        with pytest.raises(ValueError):
            wire.check_packed(odd)


def test_the_stand_ins_a_probe_names_are_read_from_its_code():
    assert reference.stand_in_names(USING_REFERENCE) == ["output_size"]
    code = 'with probe.using_reference("b", "a", dense_unit=f):\n    pass\nwith probe.using_reference("a"):\n    pass'
    assert reference.stand_in_names(code) == ["a", "b"]
    with pytest.raises(ValueError, match=r"as str literals .* Received: \*names"):
        reference.stand_in_names("with probe.using_reference(*names):\n    pass", "test_x")


@pytest.mark.parametrize(
    "attack, message",
    [
        ("link", "records.json could not be opened"),
        ("fifo", "records.json is not a regular file"),
        ("large", "over the grader's"),
        ("pickle", "not a NumPy array file"),
        ("path", "the array's file name is not one a probe writes"),
        ("not json", "records.json is not JSON"),
        ("deep", "records.json is not JSON \\(or nested too deeply\\)"),
    ],
)
def test_the_reader_refuses_what_a_probe_does_not_write(tmp_path, attack, message):
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps({"values": {}, "error": None}))
    folder = tmp_path / "probe"
    folder.mkdir()
    manifest = {"values": {}, "error": None}
    if attack == "link":
        os.symlink(outside, folder / probes.RECORDS)
    elif attack == "fifo":
        os.mkfifo(folder / probes.RECORDS)
    elif attack == "large":
        (folder / probes.RECORDS).write_text(" " * (judge.MAX_RECORDS_BYTES + 1))
    elif attack == "not json":
        (folder / probes.RECORDS).write_bytes(b"\xff{")
    elif attack == "deep":
        (folder / probes.RECORDS).write_text(
            '{"values": {"y": {"kind": "json", "value": ' + "[" * 100_000 + "]" * 100_000 + "}}}"
        )
    else:
        name = "0.npy" if attack == "pickle" else "../secret.npy"
        np.save(folder / "0.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
        manifest["values"]["y"] = {"kind": "array", "file": name}
    if attack in ("pickle", "path"):
        (folder / probes.RECORDS).write_text(json.dumps(manifest))
    with pytest.raises(JailedDataError, match=message):
        read_records(folder)
    os.rename(folder, tmp_path / "moved")
    os.symlink(tmp_path / "moved", folder)
    with pytest.raises(JailedDataError, match="the probe's folder could not be opened"):
        read_records(folder)


LABS = sorted(path.name for path in (ROOT / "solutions").iterdir() if path.is_dir())


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_probes_every_test_the_kernel_would_otherwise_judge(lab):
    """Every test cell of every lab is probed, or scored by the lab's model checks: none is kernel asserts (a
    question a TA grades is no test cell)."""
    from cnnlab.grading.cells import manually_graded
    from cnnlab.grading.course import labconfig

    nb = nbformat.read(ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    tests = reference.probed_tests(nb)
    checked = {spec.grade_id for spec in labconfig.load(lab, ROOT / "autograder" / "labs").models}
    graded = {
        reference.nbg(c)["grade_id"] for c in nb.cells if reference.nbg(c).get("grade") and not manually_graded(c)
    }
    assert graded == set(tests) | checked and not set(tests) & checked
    release = (ROOT / "labs" / lab / f"{lab}.ipynb").read_text()
    assert "PROBE" not in release and "EXPECT" not in release and "probe.record" not in release


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_every_lab_test_cell_is_probed_or_plain_asserts(path):
    """reference.split accepts every test cell (a malformed PROBE/EXPECT block would stop the batch)."""
    reference.probed_tests(nbformat.read(path, as_version=4))


@pytest.mark.parametrize(
    "records, message",
    [
        ('{"values": {"y": {"kind": "json", "value": 1' + "0" * 5000 + "}}}", "records.json is not JSON"),
        ('{"values": {"y": {"kind": ["array"]}}}', "unknown kind"),
        ('{"values": {"y": {"kind": "array", "file": ["0.npy"]}}}', "not one a probe writes"),
        ('{"values": [["y", 1]]}', "does not hold a values object"),
    ],
)
def test_records_a_probe_does_not_write_are_unreadable_never_a_grader_failure(tmp_path, records, message):
    (tmp_path / probes.RECORDS).write_text(records)
    with pytest.raises(JailedDataError, match=message):
        read_records(tmp_path)


def test_odd_values_fail_their_rule_with_a_message():
    """A NaN where a shape was expected, a dict for a list, huge integers, an array judge cannot compare: each fails
    its own rule and names it; none raises out of the judge."""
    expected = {
        "shape": Record("json", [None, 10]),
        "maps": Record("array", np.ones((2, 2))),
        "counts": Record("json", [1, 2]),
        "probabilities": Record("array", np.ones(3) / 3),
    }
    student = {
        "shape": Record("json", float("nan")),
        "maps": Record("json", {"a": [1, 2]}),
        "counts": Record("json", [10**400, 2]),
        "probabilities": Record("array", np.array([b"x", b"y", b"z"])),
    }
    code = (
        "expect.equal('shape')\nexpect.allclose('maps')\nexpect.allclose('counts')\nexpect.allclose('probabilities')\n"
        "expect.check('shape', lambda s: s[1] == 10, 'ten classes')"
    )
    verdict = rules(code, student, expected)
    assert verdict.failures == [
        "'shape' is not the expected value",
        "'maps' is not a number or a numeric array",
        "'counts' is not a number or a numeric array",
        "'probabilities' could not be compared with the expected value (UFuncTypeError)",
        "'shape' fails a check (TypeError while checking it): ten classes",
    ]


def test_an_expect_rule_may_read_an_input_the_reference_drew():
    expected = {"input": Record("array", np.arange(3.0)), "y": Record("array", np.arange(3.0) * 2)}
    code = "x = expect.reference_value('input')\nexpect.check('y', lambda y: np.allclose(y, 2 * x), 'twice x')"
    assert rules(code, {"y": Record("array", np.arange(3.0) * 2)}, expected).passed
    assert not rules(code, {"y": Record("array", np.arange(3.0))}, expected).passed
    with pytest.raises(ValueError, match="did not record it"):
        rules("expect.reference_value('z')", {}, expected)
