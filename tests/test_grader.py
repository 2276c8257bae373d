"""The autograder (cnnlab.grading, `python -m autograder`): model checks, lab configs, submission layouts,
shards and merge, and one batch per lab: its solution earns every point, its blank release earns 0, and answers
written differently (tests/answer_variants.py): correct ones keep every point, wrong ones lose their task's only.

The hostile corpus (more than 20 broken or hostile submissions, several minutes) is tests/test_grader_corpus.py,
behind the `grader_corpus` marker.
"""

import csv
import json
import os
import re
import shutil
import zipfile

import nbformat
import numpy as np
import pytest
from answer_variants import MODEL_MISTAKES, VARIANTS
from grading_helpers import (
    LAB,
    ROOT,
    TINY,
    answered,
    index_of,
    released,
    set_tiny_weights,
    tiny_config,
    tiny_model,
    tiny_test_set,
    write,
)

from cnnlab.grading.batch import run as batch
from cnnlab.grading.batch.options import Options
from cnnlab.grading.cells import manually_graded
from cnnlab.grading.cli import main
from cnnlab.grading.course import labconfig, rubric
from cnnlab.grading.errors import GradingError
from cnnlab.grading.intake import archive as archives
from cnnlab.grading.intake import discover as submissions
from cnnlab.grading.modelcheck import checks
from cnnlab.grading.modelcheck.checks import check_model
from cnnlab.grading.results.status import STATUSES
from cnnlab.grading.worker.canary import canary_source, read_canary

# -- model checks, in this process, on a tiny model built here --


@pytest.fixture
def tiny_dir(tmp_path):
    tiny_test_set(tmp_path / "tiny_test.npz")
    return tmp_path


def spec(**options):
    return labconfig.parse(TINY, tiny_config(**options)).models[0]


def by_check(results):
    return {r.check: r for r in results}


def test_model_checks_pass_on_the_right_model(tiny_dir):
    set_tiny_weights(tiny_model()).save(tiny_dir / f"{TINY}.keras")
    results = by_check(check_model(spec(), tiny_dir, tiny_dir))
    assert all(r.passed and r.score == r.points for r in results.values()), results
    assert results["ops"].message == "10 operations, expected 10"
    assert "accuracy 1.0000" in results["accuracy"].message


def test_model_checks_fail_a_wrong_architecture_with_the_numbers(tiny_dir):
    model = tiny_model(hidden=3)
    model.save(tiny_dir / f"{TINY}.keras")
    results = by_check(check_model(spec(), tiny_dir, tiny_dir))
    assert not results["params"].passed and results["params"].message == "23 parameters, expected 10"
    assert results["output_shape"].passed
    assert not results["ops"].passed


def test_untrained_model_fails_only_the_accuracy_check(tiny_dir):
    model = tiny_model()
    model.get_layer("fc_out").set_weights(
        [
            -set_tiny_weights(tiny_model()).get_layer("fc_out").get_weights()[0],
            model.get_layer("fc_out").get_weights()[1],
        ]
    )
    model.save(tiny_dir / f"{TINY}.keras")
    results = by_check(check_model(spec(), tiny_dir, tiny_dir))
    assert [r.check for r in results.values() if not r.passed] == ["accuracy"]
    assert results["accuracy"].message == (
        "accuracy 0.0000 on the grader's test set tiny_test.npz, needs at least 0.99; "
        "a model trained in quick mode does not reach this bar: hand in one from a full run"
    )


def test_missing_and_corrupt_model_files_fail_every_check_with_the_reason(tiny_dir):
    results = check_model(spec(), tiny_dir, tiny_dir)
    assert all(not r.passed and "lab0_tiny.keras is missing" in r.message for r in results)
    (tiny_dir / f"{TINY}.keras").write_bytes(b"not a zip")
    results = check_model(spec(), tiny_dir, tiny_dir)
    assert all(not r.passed and "is not a Keras model file" in r.message for r in results)


def test_the_grader_own_test_set_missing_is_the_instructors_error(tmp_path):
    set_tiny_weights(tiny_model()).save(tmp_path / f"{TINY}.keras")
    with pytest.raises(FileNotFoundError, match="pass --data DIR"):
        check_model(spec(), tmp_path, None)
    config = labconfig.parse(TINY, tiny_config())
    assert labconfig.missing_data(config, None) == "no data folder was given (they need tiny_test.npz)"
    assert labconfig.missing_data(config, tmp_path) == f"{tmp_path} lacks tiny_test.npz"
    tiny_test_set(tmp_path / "tiny_test.npz")
    assert labconfig.missing_data(config, tmp_path) == ""


def test_quick_min_applies_only_in_quick_mode(tiny_dir):
    model = tiny_model()
    model.get_layer("fc_out").set_weights([np.eye(4, 2, dtype="float32") * [1, 0], np.zeros(2, "float32")])
    model.save(tiny_dir / f"{TINY}.keras")  # class 0 where input 0 > 0: right about 3 times in 4
    config = tiny_config()
    config["models"][0]["checks"][3]["quick_min"] = 0.5
    quick_spec = labconfig.parse(TINY, config).models[0]
    full = by_check(check_model(quick_spec, tiny_dir, tiny_dir))["accuracy"]
    quick = by_check(check_model(quick_spec, tiny_dir, tiny_dir, quick=True))["accuracy"]
    assert not full.passed and "needs at least 0.99; a model trained in quick mode does not reach" in full.message
    assert quick.passed and quick.message.endswith("needs at least 0.5 (quick mode)")
    (tiny_dir / f"{TINY}.quick").write_text("the mark cnnlab.lab.save_model leaves in quick mode\n")
    marked = by_check(check_model(quick_spec, tiny_dir, tiny_dir))["accuracy"]
    assert marked.message.endswith(
        f"needs at least 0.99; {TINY}.quick came with it: it was trained in quick mode, "
        f"which checks code only. Train it in full mode and hand in that model"
    )
    assert 0.6 < float(quick.message.split()[1]) < 0.9


# -- segmentation: per-pixel accuracy and Dice on tiny 1x1-conv models (offline) --


def segmenter(channels):
    """(None, 8, 8, 1) -> (None, 8, 8, channels): predicts class 1 where the pixel is above 0.5."""
    import keras

    inputs = keras.Input((8, 8, 1))
    activation = "sigmoid" if channels == 1 else "softmax"
    model = keras.Model(inputs, keras.layers.Conv2D(channels, 1, activation=activation, name="head")(inputs))
    kernel, bias = (
        (np.full((1, 1, 1, 1), 100.0), np.array([-50.0]))
        if channels == 1
        else (np.array([[[[-100.0, 100.0]]]]), np.array([50.0, -50.0]))
    )
    model.get_layer("head").set_weights([kernel.astype("float32"), bias.astype("float32")])
    return model


@pytest.mark.parametrize("channels", [1, 2])
def test_segmentation_accuracy_is_per_pixel_and_dice_per_class(tmp_path, channels):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3, 8, 8, 1)).astype("float32")
    truth = (x[..., 0] > 0.5).astype("uint8")
    y = truth.copy()
    y[0, :2] = 1 - y[0, :2]  # 16 of 192 pixels labelled against the model
    np.savez(tmp_path / "masks.npz", x=x, y=y)
    segmenter(channels).save(tmp_path / "seg.keras")
    config = {
        "models": [
            {
                "name": "seg",
                "grade_id": "test_seg",
                "checks": [
                    {"check": "output_shape", "expected": [None, 8, 8, channels], "points": 1},
                    {"check": "accuracy", "test_set": "masks.npz", "min": 0.9, "points": 1},
                    {"check": "dice", "test_set": "masks.npz", "min": 0.5, "points": 1},
                    {"check": "dice", "test_set": "masks.npz", "label": 0, "min": 0.99, "points": 1},
                ],
            }
        ]
    }
    results = check_model(labconfig.parse("seg", config).models[0], tmp_path, tmp_path)
    assert [r.passed for r in results] == [True, True, True, False]
    assert results[1].message == f"accuracy {1 - 16 / 192:.4f} on the grader's test set masks.npz, needs at least 0.9"
    for result, label in ((results[2], 1), (results[3], 0)):
        p, t = truth == label, y == label
        expected = 2 * (p & t).sum() / (p.sum() + t.sum())
        assert result.message.startswith(f"Dice coefficient of class {label} {expected:.4f} on ")


# -- accuracy on the course's datasets, read from the grader's data folder (skips without it) --


def test_accuracy_on_padded_mnist_reads_the_grader_data(tmp_path, shared_dir):
    import keras

    from cnnlab.data import load_split, pad

    check = {"check": "accuracy", "dataset": "mnist", "pad_to": 32, "limit": 300, "shift": 0, "noise": 0}
    check.update(min=0.5, points=1)  # (unchanged images: the planted labels stay where the reader looks)
    x, y = checks.evaluation_set(check, shared_dir)
    x_test, y_test = load_split("mnist", "test", shared_dir)
    assert x.shape == (300, 32, 32, 1) and x.dtype == np.uint8
    assert np.array_equal(x[..., 0], pad(x_test[:300], 32)) and np.array_equal(y, y_test[:300])
    # a "model" that reads the label off the image: one-hot of the true label planted in the padding
    inputs = keras.Input((32, 32, 1), dtype="uint8")
    outputs = keras.layers.Flatten()(keras.layers.Cropping2D(((0, 31), (0, 22)))(inputs))
    keras.Model(inputs, outputs, name="reader").save(tmp_path / "reader.keras")
    planted = x.copy()
    planted[np.arange(300), 0, y, 0] = 255
    config = {"models": [{"name": "reader", "grade_id": "test_reader", "checks": [check]}]}
    [result] = check_model(labconfig.parse("reader", config).models[0], tmp_path, shared_dir)
    assert (
        result.message.startswith("accuracy ") and "on mnist test, padded to 32x32, first 300 images" in result.message
    )
    from cnnlab.train.metrics import classes_of

    reader = keras.saving.load_model(tmp_path / "reader.keras")
    assert checks.accuracy(classes_of(reader.predict(planted, verbose=0)), y) == 1.0


def test_membrane_validation_split_for_segmentation_checks(shared_dir):
    check = {"check": "dice", "dataset": "isbi2012_membrane", "split": "val", "min": 0.5, "points": 1}
    x, y = checks.evaluation_set(check, shared_dir)
    assert x.shape == (5, 512, 512, 1) and y.shape == (5, 512, 512) and set(np.unique(y)) == {0, 1}
    assert checks.accuracy(y, y) == 1.0 and checks.accuracy(1 - y, y) == 0.0


# -- lab configs --


def test_lab_config_points_must_match_the_test_cell():
    config = labconfig.parse(TINY, tiny_config())
    labconfig.check_points(config, {"test_model": 4})
    with pytest.raises(GradingError, match="give 4 points, but test cell 'test_model' is worth 5"):
        labconfig.check_points(config, {"test_model": 5})
    with pytest.raises(GradingError, match="does not have"):
        labconfig.check_points(config, {"test_other": 4})


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["models"][0]["checks"][0].update(check="flops"), "unknown check 'flops'"),
        (
            lambda c: c["models"][0]["checks"][3].pop("test_set"),
            "needs either 'dataset' .* or 'test_set' .*not neither",
        ),
        (lambda c: c["models"][0]["checks"][3].update(dataset="mnist"), "not both"),
        (lambda c: c["models"][0]["checks"][3].update(split="train"), "split must be one of test, val"),
        (lambda c: c["models"][0]["checks"][3].update(pad=32), r"unknown keys \['pad'\]; it takes .*pad_to"),
        (lambda c: c["models"][0]["checks"][3].pop("min"), "needs 'min'"),
        (lambda c: c["models"][0]["checks"][0].update(points=0), "needs positive 'points'"),
        (lambda c: c.update(model=[]), "unknown keys"),
    ],
)
def test_lab_config_errors_say_what_to_fix(change, message):
    config = tiny_config()
    change(config)
    with pytest.raises(GradingError, match=message):
        labconfig.parse(TINY, config, "labs/lab0_tiny.json")


def test_every_lab_has_a_valid_config():
    for source in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        lab = source.parent.name
        config = labconfig.load(lab, ROOT / "autograder" / "labs")
        graded = {
            c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in nbformat.read(source, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("grade")
        }
        labconfig.check_points(config, graded)
        rubric.check(lab, config.manual, released(lab))  # the rubrics, of the release's questions a TA grades
        assert set(config.manual) == set(rubric.questions(released(lab))), f"{lab}: a written answer lacks a rubric"
        assert (source.parent / config.notebook).exists()
        if "train_or_load(" in source.read_text():  # its test-error cell cannot pass in the sandboxed kernel
            assert config.models, f"{lab} saves trained models: autograder/labs/{lab}.json must check them"


# -- submissions: layouts, zip, shards --


def test_discover_reads_folders_flat_files_and_reports_the_missing(tmp_path):
    write(tmp_path / "ann" / LAB / f"{LAB}.ipynb", released())
    write(tmp_path / "ann" / LAB / f"{TINY}.keras", b"model")
    write(tmp_path / "ben" / "notes.txt", b"no notebook")
    write(tmp_path / "cy_lab1_convolution.ipynb", released())
    write(tmp_path / "cy_lab0_tiny.keras", b"model")
    write(tmp_path / "dee" / "a.ipynb", released())
    write(tmp_path / "dee" / "b.ipynb", released())
    write(tmp_path / "readme.txt", b"no student id")
    found, warnings = submissions.discover(tmp_path, LAB, f"{LAB}.ipynb", [TINY])
    by = {s.student: s for s in found}
    assert sorted(by) == ["ann", "ben", "cy", "dee"]
    assert by["ann"].notebook.name == f"{LAB}.ipynb" and list(by["ann"].files) == [f"{TINY}.keras"]
    assert (
        by["cy"].notebook.name == "cy_lab1_convolution.ipynb"
        and by["cy"].files[f"{TINY}.keras"].name == "cy_lab0_tiny.keras"
    )
    assert by["ben"].notebook is None and "no notebook" in by["ben"].missing_reason
    assert by["dee"].notebook is None and "several notebooks" in by["dee"].missing_reason
    assert any("readme.txt" in w for w in warnings)


def test_zip_is_unpacked_safely(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"ann/{LAB}/{LAB}.ipynb", nbformat.writes(released()))
        zf.writestr("../evil.txt", "outside")
        zf.writestr("/abs.txt", "absolute")
    root = archives.unpack(archive, tmp_path / "imported")
    assert (root / "ann" / LAB / f"{LAB}.ipynb").exists()
    assert not (tmp_path / "evil.txt").exists() and not list(root.rglob("abs.txt"))
    assert archives.unpack(archive, tmp_path / "imported") == root  # unpacked once


def test_shards_are_a_deterministic_partition():
    found = [submissions.Submission(f"s{i:03d}", LAB) for i in range(50)]
    slices = [submissions.shard(found, i, 3) for i in range(3)]
    assert sorted(s.student for part in slices for s in part) == [s.student for s in found]
    assert [s.student for s in submissions.shard(found[10:], 1, 3)] == [
        s.student for s in slices[1] if s.student >= "s010"
    ]
    with pytest.raises(GradingError, match="0 <= i < N"):
        submissions.shard(found, 3, 3)


def test_canary_reports_are_read_exactly():
    nonce = "canary0123"
    cell = nbformat.v4.new_code_cell(canary_source(nonce))
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"{nonce} 3 0 2 1 0\n"),
        nbformat.v4.new_output("error", ename="AssertionError", evalue=nonce, traceback=[]),
    ]
    assert read_canary(cell, nonce) == (3, (0, 2, 1, 0))
    cell.outputs = cell.outputs[:1]  # the error was swallowed
    assert read_canary(cell, nonce) is None


# -- one batch per lab: the solution earns every point, the blank release 0; rerun is idempotent --

LABS = [p.parent.name for p in sorted((ROOT / "solutions").glob("*/*.ipynb"))]


@pytest.fixture(scope="module", params=LABS)
def lab_batch(request, tmp_path_factory, solution_run):
    """One batch per lab, graded in quick mode with the grader's data ($CNNLAB_DATA_DIR): its answered release
    ("good", with the models its solution saved in quick mode), its blank release ("blank"), and the answers written
    differently of `VARIANTS[lab]` (the answered release with some solution cells rewritten and some models handed in
    wrong, one student each)."""
    lab = request.param
    config = lab_config(lab)
    subs = tmp_path_factory.mktemp("submissions")
    write_with_models(subs / "good" / lab / config.notebook, answered(lab), config, solution_run)
    write(subs / "blank" / lab / config.notebook, released(lab))
    for student, answer in VARIANTS[lab].items():
        nb = answered(lab)
        for grade_id, source in answer.cells.items():
            nb.cells[index_of(nb, grade_id)].source = source
        write_with_models(subs / student / lab / config.notebook, nb, config, solution_run)
        for name, mistake in answer.models.items():
            hand_in_wrong(subs / student / lab / f"{name}.keras", mistake)
    out = grade_quick(lab, subs, tmp_path_factory)
    return lab, subs, out, lab_points(lab)


def hand_in_wrong(path, mistake):
    """Change the saved model at `path` as `MODEL_MISTAKES[mistake]` says."""
    import keras

    import cnnlab.blocks  # noqa: F401  (registers cnnlab's layers, which the saved models use)

    model = keras.saving.load_model(path)
    if mistake == "untrained":
        keras.utils.set_random_seed(0)
        model = keras.models.clone_model(model)  # the same layers, weights drawn afresh
    elif mistake == "diverged":
        for weight in model.trainable_weights:
            weight.assign(np.full(weight.shape, np.nan, weight.dtype))
    else:
        raise ValueError(f"unknown model mistake {mistake!r}. Known: {', '.join(MODEL_MISTAKES)}")
    model.save(path)


def lab_config(lab):
    """The lab's grader config; skips when its model checks need data that is not here."""
    config = labconfig.load(lab, ROOT / "autograder" / "labs")
    missing = labconfig.missing_data(config, os.environ.get("CNNLAB_DATA_DIR"))
    if missing:
        pytest.skip(
            f"{lab}'s model checks read the grader's data and {missing}: set CNNLAB_DATA_DIR to the "
            f"course's shared/data folder"
        )
    return config


def write_with_models(path, nb, config, solution_run):
    """A student's notebook, with the models the lab's solution saved in quick mode, as a student's run saves them."""
    write(path, nb)
    for model in config.models:
        shutil.copy(solution_run(config.lab)[1] / f"{model.name}.keras", path.parent)


def grade_quick(lab, subs, tmp_path_factory):
    """`cnnlab grade` of the folder in quick mode with 1 worker (a lab's batch is a handful of students: a second
    worker's kernel, model and reference servers cost more than it saves; the corpus grades with 2); the output
    folder."""
    out = tmp_path_factory.mktemp("out")
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
                "1",
                "--timeout",
                "600",
                "--quick",
            ]
        )
        == 0
    )
    return out


def batch_size(lab):
    """Students in a lab's batch: the answered release ("good", passes), the blank one (fails), the variants."""
    return 2 + len(VARIANTS[lab])


def lab_points(lab):
    return sum(
        c.metadata["nbgrader"]["points"] for c in released(lab).cells if c.metadata.get("nbgrader", {}).get("grade")
    )


def written_answers(lab):
    """{grade_id: points} of the lab's answers a TA grades (labs 5 and 6 have one each)."""
    return {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
        for c in released(lab).cells
        if manually_graded(c)
    }


def rows(out):
    with open(out / "grades.csv", newline="") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def test_solution_scores_full_marks_and_blank_scores_zero(lab_batch):
    lab, _, out, points = lab_batch
    graded = rows(out)
    written = written_answers(lab)  # they wait for a TA: no score yet, and no total blocked
    auto = points - sum(written.values())
    assert graded["good"]["status"] == "graded" and graded["good"]["max_score"] == f"{points:g}"
    assert graded["good"]["score"] == f"{auto:g}"
    if written:
        assert graded["good"]["reason"] == (
            f"{auto:g} of {auto:g} autograded points; all tests passed. So far {auto:g} of {points:g} points; "
            f"{sum(written.values()):g} points wait for a TA ({', '.join(written)})."
        )
    else:
        assert graded["good"]["reason"] == f"{points:g} of {points:g} points; all tests passed."
    assert graded["blank"]["status"] in ("graded", "error") and graded["blank"]["score"] == "0"
    assert graded["blank"]["reason"].startswith(f"0 of {auto:g} {'autograded ' if written else ''}points")


def hidden_lines(lab):
    """Lines of the hidden tests of a lab's solution, long enough not to occur elsewhere by chance, that the release
    does not show too (a probe may repeat a visible line: the feedback may name that one)."""
    solution = nbformat.read(ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    shown = {line.strip() for cell in released(lab).cells for line in cell.source.splitlines()}
    return {
        line.strip()
        for cell in solution.cells
        if "### BEGIN HIDDEN TESTS" in cell.source
        for line in cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0].splitlines()
        if len(line.strip()) > 25
    } - shown


def test_outputs_feedback_report_and_gradebook(lab_batch):
    from nbgrader.api import Gradebook

    lab, _, out, points = lab_batch
    hidden = hidden_lines(lab)
    for student in ("good", "blank"):
        html = (out / "feedback" / student / f"{lab}.html").read_text()
        assert f"Feedback: {lab}, {student}" in html
        assert "HIDDEN TESTS" not in html and not [line for line in hidden if line in html]
    assert (out / "report" / f"{lab}.png").stat().st_size > 1000
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert gb.find_submission(lab, "good").score == points - sum(written_answers(lab).values())
        assert gb.find_submission(lab, "blank").score == 0
        for grade_id in written_answers(lab):  # left for a TA, as nbgrader's autograde leaves it
            grade = gb.find_grade(grade_id, lab, lab, "good")
            assert grade.auto_score is None and grade.manual_score is None and grade.needs_manual_grade


def test_rerun_is_idempotent_and_an_interrupted_run_resumes(lab_batch, capsys):
    lab, subs, out, _ = lab_batch
    before = (out / "grades.csv").read_text()
    command = ["grade", "--lab", lab, "--submissions", str(subs), "--out", str(out), "--timeout", "600", "--quick"]
    assert main(command) == 0
    students = batch_size(lab)
    assert f"{students} already graded with the same files (kept); 0 to grade" in capsys.readouterr().out
    assert (out / "grades.csv").read_text() == before
    if labconfig.load(lab, ROOT / "autograder" / "labs").models:
        return  # resuming is the same for every lab (checked on the others); a training lab's blank costs 15 to 40 s
    # an interrupted run: one result never written; the next run grades that one only
    (out / "results" / lab / "blank.json").unlink()
    assert main(command) == 0
    assert f"{students - 1} already graded with the same files (kept); 1 to grade" in capsys.readouterr().out
    assert (out / "grades.csv").read_text() == before


def test_merge_combines_shards(lab_batch, tmp_path):
    from nbgrader.api import Gradebook

    lab, _, out, points = lab_batch
    shard_a, shard_b = tmp_path / "a", tmp_path / "b"
    for shard, student in ((shard_a, "good"), (shard_b, "blank")):
        (shard / "results" / lab).mkdir(parents=True)
        (shard / "results" / lab / f"{student}.json").write_bytes(
            (out / "results" / lab / f"{student}.json").read_bytes()
        )
        (shard / "feedback" / student).mkdir(parents=True)
        (shard / "feedback" / student / f"{lab}.html").write_text("feedback")
    (tmp_path / "a" / "gradebook.db").write_bytes((out / "gradebook.db").read_bytes())
    assert main(["merge", "--out", str(tmp_path / "merged"), str(shard_a), str(shard_b)]) == 0
    assert rows(tmp_path / "merged") == {
        student: row for student, row in rows(out).items() if student in ("good", "blank")
    }
    page = (tmp_path / "merged" / "feedback" / "blank" / f"{lab}.html").read_text()
    assert page.endswith("feedback") and page.count("<!-- cnnlab-grade -->") == 1  # the shard's page, its grade on top
    with Gradebook(f"sqlite:///{tmp_path / 'merged' / 'gradebook.db'}") as gb:
        assert [gb.find_submission(lab, s).score for s in ("good", "blank")] == [
            points - sum(written_answers(lab).values()),
            0,
        ]


def test_grade_says_what_is_wrong_with_its_arguments(tmp_path, capsys):
    def error(*arguments):
        """The one line on stderr of a command that must fail with exit status 1."""
        assert main(["grade", "--submissions", str(tmp_path), "--out", str(tmp_path / "out"), *arguments]) == 1
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("python -m autograder: error: "), lines
        return lines[0]

    assert "no lab 'lab9'" in error("--lab", "lab9")
    assert "no such file or folder" in error("--lab", LAB, "--submissions", str(tmp_path / "nope"))
    assert re.search(
        f"lab2_first_convnet: .* read the grader's data, and {tmp_path} lacks cifar10.npz, mnist.npz",
        error("--lab", "lab2_first_convnet", "--data", str(tmp_path)),
    )
    assert error("--lab", LAB, "--workers", "0").endswith("--workers needs 1 or more. Received: 0")
    assert main(["merge", "--out", str(tmp_path / "merged"), str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"python -m autograder: error: {tmp_path}: not a grader output (no results/ "
        f"folder); pass the --out folders of the shards\n"
    )
    assert STATUSES[:5] == ("graded", "error", "timeout", "tampered", "missing")


def test_the_library_raises_a_grading_error_that_says_what_to_fix(tmp_path):
    options = Options(lab="lab9", submissions=tmp_path, out=tmp_path / "out")
    with pytest.raises(GradingError, match=r"no lab 'lab9' in .*solutions\. Known: lab1_convolution, "):
        batch.grade(options)
    with pytest.raises(GradingError, match="--workers needs 1 or more. Received: 0"):
        Options(lab=LAB, submissions=tmp_path, out=tmp_path / "out", workers=0)
    with pytest.raises(GradingError, match="0 <= i < N"):
        submissions.shard([], 3, 3)


# -- answers written differently: a correct one keeps every point, a wrong one loses its own task's points only --


def test_answers_written_differently_keep_their_points_and_wrong_ones_lose_only_theirs(lab_batch):
    lab, _, out, _ = lab_batch
    tests = {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
        for c in released(lab).cells
        if c.metadata.get("nbgrader", {}).get("grade") and not manually_graded(c)
    }
    config = lab_config(lab)
    test_of_model = {model.name: model.grade_id for model in config.models}
    graded = rows(out)
    for student, answer in VARIANTS[lab].items():
        row, failing = graded[student], {f"test_{task}" for task in answer.wrong}
        wrong_models = {test_of_model[name] for name in answer.models}  # these lose some of their checks' points
        scores = {
            c["grade_id"]: c["score"]
            for c in json.loads((out / "results" / lab / f"{student}.json").read_text())["cells"]
        }
        assert row["status"] == "graded", f"{student}: {row['reason']}"
        for test, points in tests.items():
            if test in failing:
                assert scores[test] == 0, f"{student}: {test} scored {scores[test]}; {row['reason']}"
            elif test in wrong_models:
                assert scores[test] < points, f"{student}: {test} kept {scores[test]} of {points}; {row['reason']}"
            else:
                assert scores[test] == points, f"{student}: {test} lost points; {row['reason']}"
        failed = re.findall(r"\b(test_\w+)", row["reason"].split("failed: ")[-1]) if failing | wrong_models else []
        assert sorted(failed) == sorted(failing | wrong_models), f"{student}: {row['reason']}"
    report = (out / "report" / "report.md").read_text()
    students = batch_size(lab)
    model_checked = set(test_of_model.values())  # the blank has no model to check
    for test in tests:
        wrong = sum(f"test_{task}" == test for answer in VARIANTS[lab].values() for task in answer.wrong)
        wrong_models = sum(test_of_model[name] == test for answer in VARIANTS[lab].values() for name in answer.models)
        blank = (0, 1) if test in model_checked else (1, 0)  # (visible part failed, only a hidden part or model check)
        # the wrong answers fail the test's visible part too: each rule a hidden test checks has a visible case
        passed = students - wrong - wrong_models - 1
        assert (
            f"| {test} | {passed} of {students} | {100 * passed / students:.0f}% | {wrong + blank[0]} | "
            f"{wrong_models + blank[1]} | 0 |"
        ) in report
