"""cnnlab.viz: each plot on tiny in-memory inputs (Agg backend, nothing shown)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnlab import models, viz  # noqa: E402
from cnnlab.data import preprocessing  # noqa: E402


@pytest.fixture(scope="module")
def wrapped_convnet():
    x = np.random.default_rng(0).integers(0, 256, (16, 28, 28), dtype=np.uint8)
    return preprocessing.with_preprocessing(models.build("convnet-mnist"), x[..., None]), x


def test_learning_curves_with_validation_and_target():
    history = {"loss": [1.0, 0.5], "accuracy": [0.9, 0.95], "val_loss": [0.8, 0.6], "val_accuracy": [0.92, 0.96]}
    figure = viz.learning_curves(history, target_error=0.012)
    loss_axes, error_axes = figure.axes
    assert len(loss_axes.lines) == 2 and len(error_axes.lines) == 3
    np.testing.assert_allclose(error_axes.lines[0].get_ydata(), [10, 5])


def test_learning_curves_needs_a_history():
    with pytest.raises(ValueError, match="Received keys: \\['acc'\\]"):
        viz.learning_curves({"acc": [1]})


def test_filter_grid_finds_conv1_behind_preprocessing(wrapped_convnet):
    model, _ = wrapped_convnet
    figure = viz.filter_grid(model)
    images = [axes.images[0].get_array() for axes in figure.axes if axes.images]
    assert len(images) == 32 and images[0].shape == (5, 5)
    assert min(image.min() for image in images) == 0 and max(image.max() for image in images) == 1


def test_filter_grid_rejects_deep_layers(wrapped_convnet):
    with pytest.raises(ValueError, match="needs 1 or 3 input channels"):
        viz.filter_grid(wrapped_convnet[0], layer="conv2")


def test_misclassified_shows_wrong_predictions_only(wrapped_convnet):
    model, x = wrapped_convnet
    predicted = np.argmax(model.predict(x[..., None], verbose=0), axis=-1)
    y = predicted.copy()
    y[[3, 7]] = (predicted[[3, 7]] + 1) % 10
    figure = viz.misclassified(model, x, y, count=8)
    titles = [axes.get_title() for axes in figure.axes if axes.images]
    assert titles == [f"{y[i]} -> {predicted[i]}" for i in (3, 7)]


def test_segmentation_overlay_marks_membrane_pixels():
    image = np.full((8, 8), 128, np.uint8)
    mask = np.ones((8, 8), np.uint8)
    mask[2] = 0
    figure = viz.segmentation_overlay(image, mask, prediction=mask)
    overlay = figure.axes[0].images[1].get_array()
    assert len(figure.axes) == 2 and overlay[2, :, 3].min() > 0 and overlay[3, :, 3].max() == 0
    with pytest.raises(ValueError, match="Received: \\(4, 4\\)"):
        viz.segmentation_overlay(image, mask[:4, :4])
