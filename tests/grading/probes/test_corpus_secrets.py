"""The hostile corpus of issue 26: nothing secret in the jail, student data never a grader failure, no accuracy
without a trained network of the lab's architecture. Marked `grader_corpus` (part of `make test` and `.ci/run`).

Lab 1 (14 points), graded in two runs into one `--out` (one secret):

1. s02 prints the probe code of test_conv2d and the state of its `probe.rng`, plainly and base64-encoded, into
   its own feedback (it succeeds: everything the kernel is given is the student's to read); s03 reads the probe's
   folder and the interpreter's objects for a table of the stand-ins' answers; s04 digs a stand-in's closure for
   the reference's results of another task; s05 writes records a probe never writes (an integer of 5,000 digits,
   a dict for a list, a NaN) and sends the kernel messages nbclient cannot read; s07 floods the stand-ins with
   calls, sends them a call that keeps the reference busy past its time limit, and asks for a function its test
   does not stand in; honest students before and after them keep 14 of 14.
2. From s02's feedback, the test builds what an attacker would: a `conv2d` that answers the leaked inputs from a
   table (computed with the solution's function) and returns zeros for any other; s02 resubmits with it and s06,
   another student, submits it: both lose test_conv2d, since each submission draws its own inputs.

A tiny model lab on the public MNIST test images (needs the course's data): an exact lookup table and a
nearest-template table of the images earn no accuracy point; honest models graded after them keep theirs.
"""

import base64
import csv
import hashlib
import json
import os
import re

import nbformat
import numpy as np
import pytest
from grading_helpers import LAB, ROOT, answered, index_of, write
from lookup_tables import exact_lookup, nearest_template

from cnnlab.grading import secret
from cnnlab.grading.cli import main
from cnnlab.grading.intake.discover import Submission, file_digests

pytestmark = pytest.mark.grader_corpus
TIMEOUT = 120  # seconds a cell (s07's call that keeps the reference busy waits 30 s for its answer)

LEAK_SETUP = """import base64, json
import cnnlab.grading.probes._kernel as _probes

LEAKED, _execute = [], _probes.execute


def _leaking_execute(code, recorder, scope):
    LEAKED.append({"code": code, "rng": recorder.rng.bit_generator.state})
    return _execute(code, recorder, scope)


_probes.execute = _leaking_execute"""
LEAK_PRINT = """print("PLAIN:", LEAKED[0]["code"])
print("LEAK:" + base64.b64encode(json.dumps(LEAKED[0]).encode()).decode())"""

TABLE_READER = '''import gc, glob, os
FOUND = []


def table_values(x):
    """What a reader of the probe's folder and of every object finds for the input x: files, and replayed results."""
    x = np.asarray(x, dtype=float)
    FOUND.extend(sorted(set(glob.glob(".cnnlab-probe-*/*")) - {f for f in FOUND}))
    for obj in gc.get_objects():
        if isinstance(obj, dict) and obj and all(isinstance(k, str) and k.startswith("[[") for k in list(obj)[:3]):
            for key, value in obj.items():  # the old replay table: {call key: the reference's result}
                if str(list(x.shape)) in key:
                    FOUND.append("a replayed result")
                    return value
    return None


def cross_correlate2d(x, h):
    found = table_values(x)
    if found is not None:
        return np.array(found["array"]).reshape(found["shape"])
    return conv2d(x, h)  # wrong: no flip


def conv_layer(x, w, b):
    found = table_values(x)
    x, w, b = np.asarray(x, dtype=float), np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[:2], axis=(0, 1))
    return np.einsum("ijcab,abck->ijk", windows, w) + b  # wrong: no ReLU'''

CLOSURE_DIGGER = '''def cross_correlate2d(x, h):
    """Wrong (no flip), unless a stand-in's closure holds the reference's result of conv2d on this x."""
    x = np.asarray(x, dtype=float)
    out = [x.shape[0] - np.shape(h)[0] + 1, x.shape[1] - np.shape(h)[1] + 1]
    seen, todo = set(), [c.cell_contents for c in (getattr(conv2d, "__closure__", None) or ())]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            for value in item.values():
                if isinstance(value, dict) and value.get("shape") == out:
                    DUG.append("a reference result")
                    return np.array(value["array"]).reshape(value["shape"])
            todo.extend(item.values())
        elif hasattr(item, "__dict__"):
            todo.extend(vars(item).values())
    return conv2d(x, h)


DUG = []'''

HOSTILE_RECORDS = """import json
import cnnlab.grading.probes._kernel as _probes

_save = _probes.Recorder.save


def _hostile_save(self):
    names, records = list(self.values), self.directory / "records.json"
    if "1 x 1 kernel" in names:  # test_conv2d: an integer of 5,000 digits
        records.write_text('{"values": {"impulse": {"kind": "json", "value": 1' + "0" * 5000 + '}}, "error": null}')
    elif "AlexNet" in names:  # test_output_size: dicts for lists, a dict for the exception's name
        values = {n: {"kind": "json", "value": {"a": n}} for n in names}
        records.write_text(json.dumps({"values": values, "error": {"a": 1}}))
    elif "drawn" in names:  # test_conv_counts: a NaN for a count, a list for a file name, an unknown kind
        records.write_text('{"values": {"MNIST conv(5, 32)": {"kind": "json", "value": NaN}, '
                           '"drawn": {"kind": "array", "file": ["0.npy"]}, "x": {"kind": {"k": 1}}}, "error": 7}')
    else:
        _save(self)


_probes.Recorder.save = _hostile_save
k = get_ipython().kernel
for kind, content in [("stream", {"name": "stdout", "text": 123}), ("display_data", {"data": 7, "metadata": {}}),
                      ("error", {"ename": 5}), ("execute_result", {"data": {"text/plain": "x"}})]:
    k.session.send(k.iopub_socket, kind, content, parent=k.get_parent("shell"))"""

FLOODER = '''import json, os, time
ASKED = []


def conv_layer(x, w, b):
    """In a probe: sends a call that keeps the reference busy past its time limit, asks for a function its test does
    not stand in, floods the stand-ins; then computes the right maps through them (refused by then: wrong)."""
    if not any(p.startswith(".cnnlab-probe-") for p in os.listdir(".")):  # the visible tests: the right maps
        return flooded_maps(x, w, b)
    try:
        cross_correlate2d(np.ones((1000, 1000)), np.ones((500, 500)))  # 250,000 slices of 501 x 501 to add
    except Exception as error:
        ASKED.append(type(error).__name__)
    folder = next(p for p in os.listdir(".") if p.startswith(".cnnlab-probe-"))
    with open(f"{folder}/call-900000.part", "w") as file:  # then renamed whole, as the stand-ins write a call
        json.dump({"function": "conv1x1", "args": [[[1.0]], [[1.0]], [0.0]], "kwargs": {}}, file)
    os.rename(f"{folder}/call-900000.part", f"{folder}/call-900000.json")
    while not os.path.exists(f"{folder}/answer-900000.json"):
        time.sleep(0.01)
    ASKED.append(json.load(open(f"{folder}/answer-900000.json")).get("message", ""))
    for _ in range(210):
        try:
            cross_correlate2d(np.ones((2, 2)), np.ones((1, 1)))
        except RuntimeError as error:
            ASKED.append(str(error)[-60:])
            break
    return flooded_maps(x, w, b)


def flooded_maps(x, w, b):
    x, w, b = np.asarray(x, dtype=float), np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    maps = []
    for j in range(w.shape[3]):
        try:
            z = sum(cross_correlate2d(x[:, :, c], w[:, :, c, j]) for c in range(w.shape[2])) + b[j]
        except RuntimeError:
            z = np.zeros((x.shape[0] - w.shape[0] + 1, x.shape[1] - w.shape[1] + 1))
        maps.append(np.maximum(z, 0))
    return np.stack(maps, axis=-1)'''


def with_cell(nb, after, source):
    nb.cells.insert(index_of(nb, after) + 1, nbformat.v4.new_code_cell(source))
    return nb


def with_answer(nb, grade_id, source):
    nb.cells[index_of(nb, grade_id)].source = source
    return nb


def at_the_end(nb, source):
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def grade(subs, out, lab=LAB, extra=()):
    assert (
        main(
            [
                "grade",
                "--lab",
                lab,
                "--submissions",
                str(subs),
                "--out",
                str(out),
                "--workers",
                "2",
                "--quick",
                "--timeout",
                str(4 * TIMEOUT),
                "--cell-timeout",
                str(TIMEOUT),
                "--processes",
                "256",
                *extra,
            ]
        )
        == 0
    )
    with open(out / "grades.csv", newline="") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def solution_functions():
    """The solution's lab-1 functions, as an attacker with a right answer (or a friend's) has them."""
    solution = nbformat.read(ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    namespace = {"np": np}
    for cell in solution.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ("conv2d", "output_size"):
            exec(cell.source, namespace)
    return namespace


def key(x, h):
    x, h = np.asarray(x, dtype=float), np.asarray(h, dtype=float)
    return hashlib.sha256(repr((x.shape, h.shape)).encode() + x.tobytes() + h.tobytes()).hexdigest()


def table_from_leak(leak):
    """{input key: the solution's answer} for every conv2d call of the leaked probe, replayed with its generator."""
    functions, table = solution_functions(), {}

    def logging_conv2d(x, h):
        result = functions["conv2d"](x, h)
        table[key(x, h)] = result.tolist()
        return result

    class Probe:
        rng = np.random.default_rng()

        def record(self, name, value):
            return value

    Probe.rng.bit_generator.state = leak["rng"]
    exec(leak["code"], {"np": np, "probe": Probe(), "conv2d": logging_conv2d})
    return table


TABLE_CONV2D = '''import hashlib
TABLE = json.loads(base64.b64decode("{table}"))


def conv2d(x, h):
    """The leaked inputs' answers from a table; zeros for any other input."""
    x, h = np.asarray(x, dtype=float), np.asarray(h, dtype=float)
    found = TABLE.get(hashlib.sha256(repr((x.shape, h.shape)).encode() + x.tobytes() + h.tobytes()).hexdigest())
    if found is None:
        return np.zeros((x.shape[0] - h.shape[0] + 1, x.shape[1] - h.shape[1] + 1))
    return np.array(found)'''


@pytest.fixture(scope="module")
def secrets_batch(tmp_path_factory):
    subs, out = tmp_path_factory.mktemp("secrets"), tmp_path_factory.mktemp("secrets_out")

    def put(student, nb):
        write(subs / student / LAB / f"{LAB}.ipynb", nb)

    put("s01_honest_first", answered())
    put("s02_leaks_its_probes", at_the_end(with_cell(answered(), "setup", LEAK_SETUP), LEAK_PRINT))
    nb = with_answer(answered(), "cross_correlate2d", TABLE_READER.split("\n\n\ndef conv_layer")[0])
    nb = with_answer(nb, "conv_layer", "def conv_layer" + TABLE_READER.split("\n\n\ndef conv_layer")[1])
    put("s03_reads_stand_in_tables", at_the_end(nb, "print('found:', FOUND)"))
    put(
        "s04_digs_a_stand_in",
        at_the_end(with_answer(answered(), "cross_correlate2d", CLOSURE_DIGGER), "print('dug:', DUG)"),
    )
    put("s05_odd_records_and_messages", with_cell(answered(), "setup", HOSTILE_RECORDS))
    put(
        "s07_floods_the_stand_ins", at_the_end(with_answer(answered(), "conv_layer", FLOODER), "print('asked:', ASKED)")
    )
    put("s99_honest_last", answered())
    first = grade(subs, out)
    # 2: the table an attacker builds from s02's leak, resubmitted by s02 and submitted by s06
    page = (out / "feedback" / "s02_leaks_its_probes" / f"{LAB}.html").read_text()
    leak = json.loads(base64.b64decode(re.search(r"LEAK:([A-Za-z0-9+/=]+)", page).group(1)))
    table = table_from_leak(leak)
    cheat = with_answer(
        answered(), "conv2d", TABLE_CONV2D.format(table=base64.b64encode(json.dumps(table).encode()).decode())
    )
    cheat = with_cell(cheat, "setup", "import base64, json")
    before = file_digests(
        Submission("s02_leaks_its_probes", LAB, notebook=subs / "s02_leaks_its_probes" / LAB / f"{LAB}.ipynb"),
        f"{LAB}.ipynb",
    )
    put("s02_leaks_its_probes", cheat)
    put("s06_uses_the_leak", cheat)
    second = grade(subs, out)
    return first, second, out, page, leak, table, before


def test_a_kernel_reads_and_prints_what_it_is_given_and_it_is_this_submissions_only(secrets_batch):
    first, _, out, page, leak, table, digests = secrets_batch
    assert "PLAIN:" in page and "probe.rng.normal(size=probe.rng.choice" in page  # the probe's code, shown plainly
    assert first["s02_leaks_its_probes"]["score"] == "14"  # reading what it is given costs nothing, gains nothing
    # the leak is real: the generator of s02's test_conv2d, as the grader seeded it from its secret
    seed = secret.probe_seed(
        secret.submission_seed(secret.load_or_create(out), LAB, "s02_leaks_its_probes", digests), "test_conv2d"
    )
    assert leak["rng"] == np.random.default_rng(seed).bit_generator.state
    assert len(table) == 6  # its six conv2d calls, answered by the solution's function
    hidden = [secret.load_or_create(out).hex()] + [
        json.loads(p.read_text())["probe_seed"] for p in out.glob(".work/*/*/job.json")
    ]
    pages = [p.read_text() for p in out.glob("feedback/*/*.html")]
    assert len(hidden) > 5 and not [h for h in hidden for p in pages if h in p]  # no secret, no submission's seed


def test_a_table_of_leaked_inputs_answers_no_other_submission_nor_the_next_one(secrets_batch):
    _, second, *_ = secrets_batch
    for student in ("s02_leaks_its_probes", "s06_uses_the_leak"):
        row = second[student]
        assert (row["status"], row["score"]) == ("graded", "12"), row
        assert row["reason"] == "12 of 14 points; failed: test_conv2d.", row


def printed_by_the_last_cell(out, student):
    """What the last cell of `student`'s graded notebook printed."""
    graded = nbformat.read(out / ".work" / LAB / student / "autograded.ipynb", as_version=4)
    return "".join(o.get("text", "") for o in graded.cells[-1].outputs)


def test_no_table_of_the_references_answers_is_in_the_kernel(secrets_batch):
    first, _, out, *_ = secrets_batch
    for student, lost in (
        ("s03_reads_stand_in_tables", "test_cross_correlate2d, test_conv_layer"),
        ("s04_digs_a_stand_in", "test_cross_correlate2d"),
    ):
        row = first[student]
        assert row["status"] == "graded" and row["reason"].endswith(f"failed: {lost}."), row
        printed = printed_by_the_last_cell(out, student)
        assert printed in ("found: []\n", "dug: []\n"), printed  # no file, no object, no closure held a table
    assert (first["s03_reads_stand_in_tables"]["score"], first["s04_digs_a_stand_in"]["score"]) == ("11", "13")


def test_records_and_messages_a_kernel_should_not_write_cost_their_own_tests_only(secrets_batch):
    first, _, out, *_ = secrets_batch
    row = first["s05_odd_records_and_messages"]
    assert row["status"] == "graded" and row["score"] == "9", row
    assert row["reason"] == "9 of 14 points; failed: test_conv2d, test_output_size, test_conv_counts.", row
    cells = {
        c["grade_id"]: c
        for c in json.loads((out / "results" / LAB / "s05_odd_records_and_messages.json").read_text())["cells"]
    }
    assert "records.json is not JSON" in cells["test_conv2d"]["message"]
    assert "not one a probe writes" in cells["test_conv_counts"]["message"]
    assert "'MNIST' is not the expected value" in cells["test_output_size"]["message"]
    feedback = (out / "feedback" / "s05_odd_records_and_messages" / f"{LAB}.html").read_text()
    assert "the kernel sent an output the grader could not read" in feedback


def test_a_flood_of_stand_in_calls_costs_its_test_only_and_the_reference_recovers(secrets_batch):
    first, _, out, *_ = secrets_batch
    row = first["s07_floods_the_stand_ins"]
    assert (row["status"], row["score"]) == ("graded", "12") and row["reason"].endswith("failed: test_conv_layer."), row
    printed = printed_by_the_last_cell(out, "s07_floods_the_stand_ins")
    assert "TimeoutError" in printed and "answers at most 200 calls" in printed
    assert "the grader answers for conv2d, cross_correlate2d in this test only" in printed
    for student in ("s01_honest_first", "s99_honest_last"):
        assert (first[student]["status"], first[student]["score"]) == ("graded", "14"), first[student]
    assert not [r for r in first.values() if r["status"] == "grader_error"]


# -- a tiny model lab on the public MNIST test images: lookup tables earn no accuracy point --

DIGITS = "lab0_digits"
LIMIT = 500


def digits_network():
    import keras

    inputs = keras.Input((28, 28, 1), dtype="uint8", name="image")
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    x = keras.layers.Dense(32, activation="relu", name="hidden")(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="out")(x), name=DIGITS)


def digits_lab(root, ops):
    source = root / "solutions" / DIGITS / f"{DIGITS}.ipynb"
    cell = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[cell("import numpy as np"), cell("x = 1"), cell("assert True")])
    for index, grade_id, meta in (
        (0, "setup", {"locked": True}),
        (2, "test_model", {"grade": True, "locked": True, "points": 4}),
    ):
        nb.cells[index].metadata["nbgrader"] = {
            "grade": False,
            "grade_id": grade_id,
            "locked": False,
            "schema_version": 3,
            "solution": False,
            "task": False,
        } | meta
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    write(source, nb)
    config = {
        "notebook": f"{DIGITS}.ipynb",
        "models": [
            {
                "name": DIGITS,
                "grade_id": "test_model",
                "checks": [
                    {"check": "params", "expected": 25_450, "points": 1},
                    {"check": "output_shape", "expected": [None, 10], "points": 1},
                    {"check": "ops", "expected": ops, "points": 1},
                    {
                        "check": "accuracy",
                        "dataset": "mnist",
                        "limit": LIMIT,
                        "shift": 0,
                        "noise": 16,
                        "min": 0.85,
                        "points": 1,
                    },
                ],
            }
        ],
    }
    (root / "labs").mkdir()
    (root / "labs" / f"{DIGITS}.json").write_text(json.dumps(config))
    return root / "solutions", root / "labs"


@pytest.fixture(scope="module")
def lookup_batch(tmp_path_factory):
    data = os.environ.get("CNNLAB_DATA_DIR")
    if not data or not os.path.isfile(os.path.join(data, "mnist.npz")):
        pytest.skip("CNNLAB_DATA_DIR is not set to the course's shared/data folder")
    import keras

    from cnnlab.data import load_split
    from cnnlab.profile import profile

    x_train, y_train = load_split("mnist", "test", data)  # (the test split holds the labels a student has too)
    x, y = x_train[:LIMIT, ..., None], y_train[:LIMIT]
    train = np.load(os.path.join(data, "mnist.npz"))
    honest = digits_network()
    honest.compile("adam", "sparse_categorical_crossentropy")
    keras.utils.set_random_seed(0)
    honest.fit(train["x_train"][..., None], train["y_train"], epochs=1, batch_size=128, verbose=0)
    root = tmp_path_factory.mktemp("digits_course")
    source, config_dir = digits_lab(root, int(profile(honest, rows="layers").total_ops))
    subs, out = tmp_path_factory.mktemp("digits_subs"), tmp_path_factory.mktemp("digits_out")
    release = tmp_path_factory.mktemp("digits_release")
    main(
        [
            "grade",
            "--lab",
            DIGITS,
            "--submissions",
            str(subs),
            "--out",
            str(release),
            "--source",
            str(source),
            "--config-dir",
            str(config_dir),
            "--data",
            data,
        ]
    )
    notebook = nbformat.read(release / ".course" / "labs" / DIGITS / f"{DIGITS}.ipynb", as_version=4)
    for student, model in (
        ("d1_honest", honest),
        ("d2_exact_lookup", exact_lookup(x, y)),
        ("d3_nearest_template", nearest_template(x, y)),
        ("d4_honest_after", honest),
    ):
        write(subs / student / DIGITS / f"{DIGITS}.ipynb", notebook)
        model.save(subs / student / DIGITS / f"{DIGITS}.keras")
    rows = grade(subs, out, DIGITS, ["--source", str(source), "--config-dir", str(config_dir), "--data", data])
    results = {s: json.loads((out / "results" / DIGITS / f"{s}.json").read_text()) for s in rows}
    return rows, {s: {m["check"]: m for m in r["models"]} for s, r in results.items()}


def test_lookup_tables_of_the_public_images_earn_no_accuracy_point(lookup_batch):
    rows, checks = lookup_batch
    for student in ("d1_honest", "d4_honest_after"):
        assert rows[student]["score"] == "4", rows[student]
    exact, nearest = checks["d2_exact_lookup"]["accuracy"], checks["d3_nearest_template"]["accuracy"]
    assert exact["score"] == 0 and float(exact["message"].split()[1]) < 0.2, exact  # the noise: no image matches
    assert nearest["score"] == 0 and "not awarded: its points go to the lab's network only" in nearest["message"]
    assert rows["d2_exact_lookup"]["score"] == rows["d3_nearest_template"]["score"] == "1"  # the output shape only
