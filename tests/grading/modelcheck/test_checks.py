"""The model checks (cnnlab.grading.modelcheck.checks), in this process: on tiny classifiers and segmenters built
here, and accuracy read from the grader's data folder (skips without it)."""

import numpy as np
import pytest
from grading_helpers import (
    TINY,
    set_tiny_weights,
    tiny_config,
    tiny_model,
    tiny_test_set,
)

from cnnlab.grading.course import labconfig
from cnnlab.grading.modelcheck import checks
from cnnlab.grading.modelcheck.checks import check_model

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
