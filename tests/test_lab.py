"""cnnlab.lab: the flags, the set-up cell and report, saving and loading the trained model."""

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


def test_setup_cell_installs_from_the_one_repo_url_only_in_colab():
    source = lab.setup_cell_source()
    assert f'"git", "clone", "-q", "--depth", "1", "{lab.REPO_URL}"' in source
    assert source.count("https://") == 1
    compile(source, "setup_cell", "exec")  # plain Python: no IPython magics
    assert 'if "google.colab" in sys.modules:' in source
    assert source.rstrip().endswith("lab.setup()")


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
