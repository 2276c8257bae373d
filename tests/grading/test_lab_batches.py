"""One grading batch per lab (`python -m autograder grade --quick`), end to end: its solution earns every point,
its blank release 0, answers written differently (tests/answer_variants.py) keep their points and wrong ones lose
their task's only; the outputs, a rerun, a merge of shards; the command's errors.

The hostile corpus is tests/grading/test_corpus.py, behind the `grader_corpus` marker."""

import csv
import json
import os
import re
import shutil

import nbformat
import numpy as np
import pytest
from answer_variants import MODEL_MISTAKES, VARIANTS
from grading_helpers import (
    LAB,
    ROOT,
    answered,
    index_of,
    released,
    write,
)

from cnnlab.grading.batch import run as batch
from cnnlab.grading.batch.options import Options
from cnnlab.grading.cells import manually_graded
from cnnlab.grading.cli import main
from cnnlab.grading.course import labconfig
from cnnlab.grading.errors import GradingError
from cnnlab.grading.intake import discover as submissions
from cnnlab.grading.results.status import STATUSES

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


def test_the_answered_release_runs_in_the_grader_without_an_error(lab_batch):
    """ "good" is the students' version with the solution cells filled in and the solution's quick-mode models beside
    it, as a student's second run has them: every cell of the graded notebook runs without an error and no test's
    visible part fails (its hidden part and model checks: full marks, above)."""
    lab, _, out, _ = lab_batch
    graded = nbformat.read(out / "feedback" / "good" / f"{lab}.ipynb", as_version=4)
    failed = {
        index: [f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error"]
        for index, cell in enumerate(graded.cells)
        if cell.cell_type == "code"
    }
    assert not {index: errors for index, errors in failed.items() if errors}
    cells = json.loads((out / "results" / lab / "good.json").read_text())["cells"]
    assert not [c["grade_id"] for c in cells if c["visible_failed"] or c["hidden_failed"]]


def test_no_test_passes_before_the_student_answers(lab_batch):
    """The blank release ("blank": the students' version as released, run by the grader) passes no test, and each
    test the kernel runs fails in its visible part, where the student sees it (a model's checks fail for want of the
    model; a written answer is no test: a TA grades it)."""
    lab, _, out, _ = lab_batch
    cells = json.loads((out / "results" / lab / "blank.json").read_text())["cells"]
    tests = [c for c in cells if c["grade_id"] not in written_answers(lab)]
    assert tests and not [c["grade_id"] for c in tests if c["score"] != 0]
    assert not [c["grade_id"] for c in tests if c["path"] != "model checks" and not c["visible_failed"]]


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
    if lab != LAB:
        return  # resuming is the same code for every lab: lab 1's blank is the cheapest to grade again
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
