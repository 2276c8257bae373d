"""Training under the current Keras backend: `make test` runs this file under TensorFlow, JAX and PyTorch.

A short real training on a slice of MNIST through `fit`, its test error, the save and load of
`lab.train_or_load`, the grader's model checks on the saved file; a segmentation `fit` with its pixel scores.
"""

import dataclasses

import keras
import numpy as np
import pytest

from cnnlab import data, lab, models
from cnnlab.data import pipeline, preprocessing, segmentation
from cnnlab.grading.course.labconfig import ModelSpec
from cnnlab.grading.modelcheck import checks
from cnnlab.train import fit, recipes
from cnnlab.train import test_error as error_of

pytestmark = pytest.mark.backends

# Adam at 1e-3 in batches of 64, one pass over 4,096 digits: 64 steps, under 10% test error on every backend.
SHORT = dataclasses.replace(
    recipes.get("convnet-mnist", "fast"),
    optimizer="adam",
    learning_rate=1e-3,
    schedule="constant",
    batch_size=64,
    label_smoothing=0.0,
    epochs=1,
)


def mnist_slice(train=4096, test=1000):
    mnist = data.load("mnist")
    return data.Dataset(
        "mnist",
        mnist.x_train[:train],
        mnist.y_train[:train],
        mnist.x_test[:test],
        mnist.y_test[:test],
        source=mnist.source,
    )


def test_short_mnist_training_then_test_error_save_load_and_grader_checks(shared_dir, tmp_path, monkeypatch):
    digits = mnist_slice()
    splits = pipeline.make(digits, batch_size=SHORT.batch_size)

    def train():
        network = models.build("convnet-mnist")
        model = preprocessing.with_preprocessing(network, digits.x_train)
        result = fit(model, SHORT, splits, verbose=0)
        assert result.epochs == 1 and result.test_error < 0.1, result.describe()
        # the fast recipe's 16 steps per call; PyTorch's trainer takes 1 only
        assert model.steps_per_execution == (1 if keras.backend.backend() == "torch" else 16)
        return result.model

    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    trained = lab.train_or_load("backend_convnet", train, directory=tmp_path)
    error = error_of(trained, splits.test)
    monkeypatch.setenv(lab.GRADING_ENV, "1")
    loaded = lab.train_or_load("backend_convnet", train, directory=tmp_path)
    assert loaded is not trained and error_of(loaded, splits.test) == error

    accuracy = {"check": "accuracy", "dataset": "mnist", "limit": 1000, "min": 0.9, "points": 1}
    params = {"check": "params", "expected": trained.count_params(), "points": 1}
    results = checks.check_model(
        ModelSpec("backend_convnet", "test_model", [accuracy, params]), tmp_path, data_dir=shared_dir
    )
    assert [r.passed for r in results] == [True, True], [r.message for r in results]
    assert f"accuracy {1 - error:.4f}" in results[0].message


def test_segmentation_fit_scores_pixels():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 32, 32), dtype=np.uint8)
    y = (x > 60).astype(np.uint8)  # a threshold of the image: learnable by a 1x1 conv
    slices = data.Dataset("isbi2012_membrane", x[:4], y[:4], x, None, source="memory", x_val=x[4:], y_val=y[4:])
    recipe = dataclasses.replace(
        recipes.get("unet", "fast"), epochs=2, batch_size=2, schedule="constant", learning_rate=1e-2
    )
    splits = segmentation.make(slices, batch_size=2)
    network = models.build(
        "unet", input_shape=(32, 32, 1), padding="same", base_filters=4, num_classes=1, batch_norm=True
    )
    result = fit(preprocessing.with_preprocessing(network, x[:4]), recipe, splits, verbose=0, network="unet")
    assert set(result.scores) == {"pixel_error", "dice_0", "iou_0", "dice_1", "iou_1"}
    assert result.test_error == result.scores["pixel_error"] and 0 <= result.test_error <= 1
    assert {"accuracy", "membrane_iou", "val_accuracy"} <= set(result.history)
    assert np.all(np.isfinite(result.history["loss"]))
