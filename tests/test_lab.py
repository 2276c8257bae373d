"""cnnlab.lab: the flags, the set-up cell and report, saving and loading the trained model, the working folder
in Colab, the training checkpoint, and the hand-in `submit`."""

import json
import os
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from cnnlab import lab


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("Yes", True), ("0", False), ("", False)])
def test_quick_mode_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(lab.QUICK_ENV, value)
    assert lab.quick_mode() is expected


def test_flags_are_off_when_unset(monkeypatch):
    monkeypatch.delenv(lab.QUICK_ENV, raising=False)
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    assert lab.quick_mode() is False
    assert lab.grading_mode() is False


def test_unreadable_flag_says_what_it_expected(monkeypatch):
    monkeypatch.setenv(lab.GRADING_ENV, "maybe")
    with pytest.raises(ValueError, match=r"CNNLAB_GRADING should be 1 or 0.*Received: CNNLAB_GRADING='maybe'"):
        lab.grading_mode()


def test_pick_follows_quick_mode(monkeypatch):
    monkeypatch.setenv(lab.QUICK_ENV, "1")
    assert lab.pick(full=20, quick=1) == 1
    monkeypatch.setenv(lab.QUICK_ENV, "0")
    assert lab.pick(full=20, quick=1) == 20


@pytest.mark.parametrize("accelerator, expected", [(False, 3), (True, 30)])
def test_pick_takes_the_cpu_budget_only_without_an_accelerator(monkeypatch, accelerator, expected):
    monkeypatch.setattr(lab, "has_accelerator", lambda: accelerator)
    monkeypatch.setenv(lab.QUICK_ENV, "0")
    assert lab.pick(full=30, cpu=3, quick=1) == expected
    assert lab.pick(full=30, quick=1) == 30
    monkeypatch.setenv(lab.QUICK_ENV, "1")
    assert lab.pick(full=30, cpu=3, quick=1) == 1


@pytest.mark.parametrize("devices, expected", [([], False), (["/physical_device:GPU:0"], True)])
def test_has_accelerator_asks_the_backend(monkeypatch, devices, expected):
    monkeypatch.setattr(lab, "_accelerators", lambda backend: devices)
    assert lab.has_accelerator() is expected


def test_setup_cell_installs_the_pinned_release_only_in_colab():
    source = lab.setup_cell_source("lab0_tiny", "cnnlab @ https://example.org/cnnlab-9.9-py3-none-any.whl")
    assert '"pip", "install", "-q", \'cnnlab @ https://example.org/cnnlab-9.9-py3-none-any.whl\']' in source
    assert source.count("https://") == 1 and "--upgrade" not in source and "git" not in source
    compile(source, "setup_cell", "exec")  # plain Python: no IPython magics
    assert 'if "google.colab" in sys.modules:' in source
    assert source.splitlines()[-1].startswith("lab.setup('lab0_tiny')")


def test_setup_reports_where_and_what(monkeypatch, capsys):
    monkeypatch.setenv(lab.QUICK_ENV, "1")
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    report = lab.setup()
    assert report["where"] == "local"
    assert report["backend"] == keras.backend.backend()
    assert report["quick"] is True and report["grading"] is False
    assert isinstance(report["accelerators"], list)
    printed = capsys.readouterr().out
    assert "Running local" in printed and "Quick mode (CNNLAB_QUICK): on" in printed


def _tiny_model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs), name="tiny")


def test_model_is_saved_next_to_the_notebook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = _tiny_model()
    path = lab.save_model(model, "lab0_tiny")
    assert path == tmp_path / "lab0_tiny.keras" and path.exists()
    loaded = lab.load_model("lab0_tiny")
    x = np.ones((1, 3), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_train_or_load_trains_and_saves_outside_grading(tmp_path, monkeypatch):
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    calls = []
    model = lab.train_or_load("tiny", lambda: calls.append(1) or _tiny_model(), directory=tmp_path)
    assert calls == [1]
    assert model.name == "tiny" and (tmp_path / "tiny.keras").exists()


def test_train_or_load_never_trains_in_grading_mode(tmp_path, monkeypatch):
    lab.save_model(_tiny_model(), "tiny", directory=tmp_path)
    monkeypatch.setenv(lab.GRADING_ENV, "1")

    def train():
        raise AssertionError("the grader must not train")

    assert lab.train_or_load("tiny", train, directory=tmp_path).name == "tiny"


def test_grading_without_a_saved_model_names_the_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv(lab.GRADING_ENV, "1")
    with pytest.raises(FileNotFoundError, match=r"no trained model at .*tiny\.keras.*run the training cell"):
        lab.train_or_load("tiny", _tiny_model, directory=tmp_path)


# -- quick mode from the notebook, the working folder in Colab (a stand-in google.colab: real Colab is not
# reachable from here), reusing saved models, the training checkpoint --


def test_setup_quick_switches_quick_mode_but_not_in_grading_mode(monkeypatch, capsys):
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    monkeypatch.setenv(lab.QUICK_ENV, "0")
    assert lab.setup(quick=True, verbose=False)["quick"] is True and lab.quick_mode()
    assert lab.setup(quick=False, verbose=False)["quick"] is False
    monkeypatch.setenv(lab.GRADING_ENV, "1")
    assert lab.setup(quick=True)["quick"] is False
    assert "setup(quick=True) ignored: in grading mode the grader sets quick mode." in capsys.readouterr().out


class FakeColab:
    """A stand-in for google.colab: drive.mount makes the Drive folder, files.download records the path,
    _message.blocking_request('get_ipynb') hands over the notebook given."""

    def __init__(self, monkeypatch, mount_point, notebook=None, mount_error=None):
        import types

        self.downloads, self.mounted = [], []
        google, colab = types.ModuleType("google"), types.ModuleType("google.colab")
        colab.drive = types.SimpleNamespace(mount=self.mount)
        colab.files = types.SimpleNamespace(download=self.downloads.append)
        colab._message = types.SimpleNamespace(
            blocking_request=lambda kind, request="", timeout_sec=None: (
                {"ipynb": notebook} if kind == "get_ipynb" else None
            )
        )
        google.colab = colab
        self.mount_point, self.mount_error = mount_point, mount_error
        for name, module in (("google", google), ("google.colab", colab), ("google.colab.drive", colab.drive)):
            monkeypatch.setitem(sys.modules, name, module)
        monkeypatch.setattr(lab, "DRIVE_MOUNT", str(mount_point))

    def mount(self, where):
        if self.mount_error:
            raise self.mount_error
        (Path(where) / "MyDrive").mkdir(parents=True, exist_ok=True)
        self.mounted.append(where)


def test_colab_setup_mounts_drive_and_works_in_the_lab_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    colab = FakeColab(monkeypatch, tmp_path / "drive")
    report = lab.setup("lab0_tiny")
    folder = tmp_path / "drive" / "MyDrive" / "cnnlab" / "lab0_tiny"
    assert report["where"] == "Colab" and colab.mounted == [str(tmp_path / "drive")]
    assert Path(os.getcwd()) == folder and report["folder"] == str(folder)
    assert lab.model_path("m") == folder / "m.keras"
    assert f"Google Drive mounted: saved models and checkpoints go to {folder}" in capsys.readouterr().out


def test_colab_setup_without_drive_says_the_work_is_lost(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    FakeColab(monkeypatch, tmp_path / "drive", mount_error=RuntimeError("mount failed: permission denied"))
    lab.setup("lab0_tiny")
    assert Path(os.getcwd()) == tmp_path
    assert "Google Drive not mounted (mount failed: permission denied)" in capsys.readouterr().out


def test_train_or_load_reuses_a_saved_model_that_fits_unless_retrain(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    calls = []
    train = lambda: calls.append(1) or _tiny_model()  # noqa: E731
    lab.train_or_load("tiny", train, directory=tmp_path)
    lab.train_or_load("tiny", train, directory=tmp_path, build=_tiny_model)
    assert calls == [1] and "Reusing" in capsys.readouterr().out
    lab.train_or_load("tiny", train, directory=tmp_path, retrain=True)
    assert calls == [1, 1]

    def wider():
        inputs = keras.Input((3,))
        return keras.Model(inputs, keras.layers.Dense(4)(inputs), name="tiny")

    lab.train_or_load("tiny", wider, directory=tmp_path, build=wider)  # the network changed: train again
    assert "Training again: tiny.keras does not fit" in capsys.readouterr().out
    (tmp_path / "tiny.keras").write_bytes(b"half a file")
    lab.train_or_load("tiny", train, directory=tmp_path)
    assert calls == [1, 1, 1] and "does not load" in capsys.readouterr().out


def test_a_quick_mode_model_is_marked_flagged_and_trained_again_by_a_full_run(tmp_path, monkeypatch, capsys):
    import zipfile

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    monkeypatch.setenv(lab.QUICK_ENV, "1")
    calls = []
    train = lambda: calls.append(1) or _tiny_model()  # noqa: E731
    lab.train_or_load("lab0_tiny", train)
    assert (tmp_path / "lab0_tiny.quick").exists() and "trained in quick mode" in capsys.readouterr().out
    lab.load_model("lab0_tiny")  # what the notebook's test of the model calls
    assert capsys.readouterr().out.startswith("lab0_tiny.keras: trained in quick mode: it checks your code only.")
    _student_notebook(tmp_path)
    result = lab.submit("lab0_tiny", "s-42", models=["lab0_tiny"])
    assert "But it was trained in quick mode" in result["models"]["lab0_tiny"]
    with zipfile.ZipFile(result["zip"]) as zf:  # the grader then says why the model misses its bar
        assert "s-42/lab0_tiny/lab0_tiny.quick" in zf.namelist()
    lab.train_or_load("lab0_tiny", train)  # quick mode again: the quick model is reused
    assert calls == [1]
    monkeypatch.setenv(lab.QUICK_ENV, "0")
    lab.train_or_load("lab0_tiny", train)
    assert calls == [1, 1] and not (tmp_path / "lab0_tiny.quick").exists()
    assert "Training again: lab0_tiny.keras does not fit, it comes from a quick-mode run" in capsys.readouterr().out


def test_backup_resumes_an_interrupted_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 2), "float32")
    epochs_seen = []

    class StopAt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs_seen.append(epoch)
            if epoch == 2 and len(epochs_seen) == 3:
                raise KeyboardInterrupt("disconnected")

    def train():
        model = _tiny_model()
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, epochs=4, verbose=0, callbacks=[lab.backup(), StopAt()])
        return model

    with pytest.raises(KeyboardInterrupt):
        lab.train_or_load("tiny", train)
    assert (tmp_path / ".backup-tiny").is_dir()
    lab.train_or_load("tiny", train)  # the cell run again: epochs 2 and 3 only
    assert epochs_seen == [0, 1, 2, 2, 3] and not (tmp_path / ".backup-tiny").exists()
    with pytest.raises(RuntimeError, match="inside the training function"):
        lab.backup()


# -- lab.submit --


def _student_notebook(directory, lab_name="lab0_tiny", failed=False):
    """A saved notebook with one visible test cell that ran (and passed, or failed)."""
    import nbformat

    cell = nbformat.v4.new_code_cell("assert True", execution_count=1)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_model", "points": 4, "locked": True}
    if failed:
        cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong shape", traceback=[])]
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("lab.submit(...)")])
    nbformat.write(nb, Path(directory) / f"{lab_name}.ipynb")
    return nb


def test_submit_packs_the_notebook_and_models_as_the_grader_reads_them(tmp_path, monkeypatch, capsys):
    import zipfile

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    _student_notebook(tmp_path)
    lab.save_model(_tiny_model(), "lab0_tiny")
    result = lab.submit("lab0_tiny", "s-42", models=["lab0_tiny"], hidden_tests=3, hidden_points=7, model_points=2)
    assert result["zip"] == tmp_path / "s-42_lab0_tiny.zip" and result["problems"] == []
    assert result["tests"] == {"test_model": "passed"}
    with zipfile.ZipFile(result["zip"]) as zf:
        assert sorted(zf.namelist()) == ["s-42/lab0_tiny/lab0_tiny.ipynb", "s-42/lab0_tiny/lab0_tiny.keras"]
    printed = capsys.readouterr().out
    assert "ok      lab0_tiny.keras: loads; 8 parameters, output shape (None, 2)." in printed
    assert "Visible tests" in printed and "1 of 1 passed" in printed
    assert (
        "The grader also runs 3 test cell(s) with hidden tests (7 points) and the checks of your 1 saved "
        "model(s) on the grader's own test data (2 points)."
    ) in printed


@pytest.mark.parametrize(
    "model_file, reason", [(None, "lab0_tiny.keras: missing"), (b"not a zip", "lab0_tiny.keras: does not load")]
)
def test_submit_writes_no_zip_while_a_model_is_missing_or_broken(tmp_path, monkeypatch, model_file, reason):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    _student_notebook(tmp_path, failed=True)
    if model_file is not None:
        (tmp_path / "lab0_tiny.keras").write_bytes(model_file)
    result = lab.submit("lab0_tiny", "s42", models=["lab0_tiny"])
    assert result["zip"] is None and result["problems"][0].startswith(reason)
    assert result["tests"] == {"test_model": "failed (AssertionError: wrong shape)"}
    assert not list(tmp_path.glob("*.zip"))


def test_submit_needs_a_student_id_and_does_nothing_in_grading_mode(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    _student_notebook(tmp_path)
    for student in ("", "two words", "../x", ".hidden"):  # the grader's rule (cnnlab.grading.intake.ids)
        assert "STUDENT_ID is" in lab.submit("lab0_tiny", student)["problems"][-1]
    monkeypatch.setenv(lab.GRADING_ENV, "1")
    assert lab.submit("lab0_tiny", "s42")["zip"] is None
    assert not list(tmp_path.glob("*.zip"))


def test_submit_in_colab_takes_the_running_notebook_and_downloads_the_zip(tmp_path, monkeypatch):
    import nbformat

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    running = json.loads(nbformat.writes(_student_notebook(tmp_path)))
    (tmp_path / "lab0_tiny.ipynb").unlink()  # Colab keeps no notebook file in the runtime
    colab = FakeColab(monkeypatch, tmp_path / "drive", notebook=running)
    result = lab.submit("lab0_tiny", "s42")
    assert colab.downloads == [str(tmp_path / "s42_lab0_tiny.zip")] and result["tests"] == {"test_model": "passed"}


def test_submit_names_a_written_answer_still_empty_and_counts_it_apart_from_the_tests(tmp_path, monkeypatch, capsys):
    import nbformat

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    nb = _student_notebook(tmp_path)
    answer = nbformat.v4.new_markdown_cell("YOUR ANSWER HERE")
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": "why", "points": 2, "locked": False}
    nb.cells.insert(1, answer)
    nbformat.write(nb, tmp_path / "lab0_tiny.ipynb")
    result = lab.submit("lab0_tiny", "s42")
    assert result["tests"] == {"test_model": "passed"} and result["zip"] is not None  # an empty answer blocks nothing
    printed = capsys.readouterr().out
    assert "why: your written answer is still empty (a TA grades it)" in printed
    assert "A TA grades your 1 written answer(s) (2 points)." in printed
