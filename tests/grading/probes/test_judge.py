"""Probed tests without a kernel: the test-cell format, the records a probe writes, the grader's reader and rules.

The kernel runs (the student's and the reference's) are in tests/test_grader.py (one small batch per lab) and
the attacks on them in tests/test_grader_corpus.py.
"""

import json
import os

import nbformat
import numpy as np
import pytest
from grading_helpers import ROOT

from cnnlab.grading.jail.files import JailedDataError
from cnnlab.grading.probes import _kernel as probes
from cnnlab.grading.probes import _replay as replay
from cnnlab.grading.probes import judge, reference, self_check
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
    probes.run(tmp_path, namespace)
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
    probe.record("7, k 3, stride 2", strided(np.ones((7, 7)), 3, 2).shape)
    probe.record("defaults named", output_size(7, 3, stride=1) == output_size(7.0, 3))
probe.record("after the block", output_size(7, 3))
"""


def test_using_reference_answers_the_references_calls_with_its_results_and_others_with_the_students(tmp_path):
    solution = notebook(HELPER_AND_TASK.format(one=1))
    run = reference.new_probe_run(tmp_path, USING_REFERENCE)
    probes.run(run, solution)
    calls = run / replay.RECORDED
    assert json.loads(calls.read_text()).keys() == {"output_size"}

    student = notebook(HELPER_AND_TASK.format(one=2))  # a bug in output_size, a right `strided`
    own = student["output_size"]
    run = reference.new_probe_run(
        tmp_path, USING_REFERENCE + 'probe.record("unseen", strided(np.ones((9, 9)), 3).shape)', calls=calls
    )
    probes.run(run, student)
    assert not (run / replay.REPLAYED).exists(), "the kernel deletes the reference's calls once read"
    records, error = read_records(run)
    assert error is None
    assert records["7, k 3, stride 2"] == Record("json", [3, 3])  # the reference's output_size(7, 3, 2, 0)
    assert records["defaults named"] == Record("json", True)
    assert records["after the block"] == Record("json", 6)  # the student's own again
    assert records["unseen"] == Record("json", [8, 8])  # a call the reference never made: the student's own
    assert student["output_size"] is own


def test_a_replayed_result_keeps_its_types():
    results = [
        (1, 2.5, (3, "a")),
        [np.arange(6, dtype="float32").reshape(2, 3)],
        {"k": None},
        np.int64(4),
        float("inf"),
    ]
    for result in results:
        back = replay.decode(json.loads(json.dumps(replay.encode(result))))
        assert repr(back) == repr(result.item() if isinstance(result, np.generic) else result)
    assert replay.key(np.ones((2, 2), "uint8")) == replay.key(np.ones((2, 2)))
    assert replay.key((1, 2)) == replay.key([1.0, np.int32(2)])
    with pytest.raises(replay.Unkeyable):
        replay.key(object())


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
