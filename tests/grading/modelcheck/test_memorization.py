"""Lookup tables of the public test images, built of layers the grader allows and within its weights cap, against the
accuracy and Dice checks of labs 2 and 8 (`autograder/labs/`): each reaches the bar on the public images and now earns
nothing. Needs the course's data (skips without CNNLAB_DATA_DIR); each model is checked in the grader's jailed model
server, as in a batch.

- lab 2, MNIST: an exact lookup table (a template per test image: its label when the image is within a hair of
  one; it dies with the batch's noise) and a nearest-template table (the label of the nearest of the 10,000 test
  images: noise does not stop it, the architecture checks do: its accuracy is not awarded);
- lab 8, membrane: a nearest-template table of the 5 validation slices that returns the stored mask of the nearest
  one, padded to the lab's exact parameter count and output shape (lab 8 checks no operations): only the changed
  slices stop it.
"""

import json

import numpy as np
import pytest
from grading_helpers import ROOT

from cnnlab.grading.course import labconfig
from cnnlab.grading.modelcheck import checks

SEED = 20240607  # a batch's images seed (the grader draws it from its secret)
MEASURES = ("accuracy", "dice")


def lab_spec(lab, name, public=False, measures_only=False):
    """The model spec `name` of `lab`'s config; `public`: its images as they are published (no change: the grader
    before this change); `measures_only`: its accuracy and Dice checks only (no architecture check to pass)."""
    config = json.loads((ROOT / "autograder" / "labs" / f"{lab}.json").read_text())
    spec = next(m for m in labconfig.parse(lab, config).models if m.name == name)
    if public:
        spec.checks = [dict(c, shift=0, noise=0, flips=False) if c["check"] in MEASURES else c for c in spec.checks]
    if measures_only:
        spec.checks = [c for c in spec.checks if c["check"] in MEASURES]
    return spec


def results(spec, folder, data):
    return {r.check: r for r in checks.check_model(spec, folder, data, images_seed=SEED)}


def measured(result):
    """The accuracy or Dice a check's message reports."""
    return float(result.message.split(" on ")[0].split()[-1])


def templates(x, pool):
    """The images as the tables see them: in [0, 1], averaged over `pool` x `pool` blocks, flattened (float32)."""
    n, h, w = x.shape[:3]
    blocks = x.reshape(n, h // pool, pool, w // pool, pool).astype(np.float32) / 255
    return blocks.mean(axis=(2, 4)).reshape(n, -1)


def features_of(shape, pool):
    """(uint8 input of `shape`, its features as `templates` computes them)."""
    import keras

    inputs = keras.Input(shape, dtype="uint8")
    pooled = keras.layers.AveragePooling2D(pool)(keras.layers.Rescaling(1 / 255)(inputs))
    return inputs, keras.layers.Flatten()(pooled)


def template_layer(table, scale, shift, name="templates"):
    """Dense: scale (2 x.t - |t|^2) + shift for each row t of `table` (its nearest row scores highest)."""
    import keras

    layer = keras.layers.Dense(len(table), name=name)
    layer.build((None, table.shape[1]))
    layer.set_weights([2 * scale * table.T, scale * -(table**2).sum(1) + shift])
    return layer


def dense(units, kernel, name, **options):
    """A Dense layer whose kernel is `kernel` (and zero bias)."""
    import keras

    layer = keras.layers.Dense(units, name=name, **options)
    layer.build((None, kernel.shape[0]))
    layer.set_weights([kernel] + ([np.zeros(units, np.float32)] if layer.use_bias else []))
    return layer


def exact_lookup(x, y, within=1e-3):
    """Label of the test image whose templates lie within `within` (squared distance) of the input, else class 0:
    ReLU(within - |f - t|^2) per template t, |f|^2 computed from the input features f."""
    import keras

    table = templates(x, 4)
    inputs, features = features_of(x.shape[1:], 4)
    norm = dense(1, np.ones((table.shape[1], 1), np.float32), "norm", use_bias=False)(
        keras.layers.Multiply()([features, features])
    )
    norms = dense(len(table), np.ones((1, len(table)), np.float32), "norms", use_bias=False)(norm)
    hits = keras.layers.ReLU()(keras.layers.Subtract()([template_layer(table, 1.0, within)(features), norms]))
    labels = dense(10, np.eye(10, dtype=np.float32)[y] / within, "labels", use_bias=False)(hits)
    return keras.Model(inputs, keras.layers.Softmax()(labels), name="exact_lookup")


def nearest_template(x, y, pool=4, sharpness=1e4):
    """Label of the nearest test image (its templates): a sharp softmax over the templates, then their labels."""
    import keras

    table = templates(x, pool)
    inputs, features = features_of(x.shape[1:], pool)
    nearest = keras.layers.Softmax()(template_layer(table, sharpness, 0.0)(features))
    labels = dense(10, np.eye(10, dtype=np.float32)[y], "labels", use_bias=False)(nearest)
    return keras.Model(inputs, labels, name="nearest_template")


def padding(needed, wide_inputs, narrow_inputs, outputs):
    """(wide, narrow): units of a Dense on the wide features and of one on the narrow ones, each followed by a
    Dense(outputs) without bias, that hold `needed` parameters in all."""
    per_wide, per_narrow = (wide_inputs + 1) * 1 + outputs, (narrow_inputs + 1) + outputs
    for wide in range(needed // per_wide, -1, -1):
        if (needed - wide * per_wide) % per_narrow == 0:
            return wide, (needed - wide * per_wide) // per_narrow
    raise ValueError(f"no padding of {needed} parameters")


def membrane_table(x, masks, params):
    """(None, 512, 512, 1) -> (None, 512, 512, 1), exactly `params` weights: the stored mask (probability of label 1)
    of the nearest of the slices `x`; zero-weight branches bring it to the lab's count."""
    import keras

    table, pixels = templates(x, 8), masks[0].size
    inputs, features = features_of(x.shape[1:], 8)
    nearest = keras.layers.Softmax()(template_layer(table, 1e4, 0.0)(features))
    base = (table.shape[1] + 1) * len(table) + (len(table) + 1) * pixels
    wide, narrow = padding(params - base, table.shape[1], len(table), len(table))
    zeros = [
        dense(len(table), np.zeros((units, len(table)), np.float32), f"zeros_{i}", use_bias=False)(
            keras.layers.Dense(units, name=f"padding_{i}")(source)
        )
        for i, (units, source) in enumerate(((wide, features), (narrow, nearest)))
        if units
    ]
    stored = np.where(masks.reshape(len(masks), pixels) > 0, 20.0, -20.0).astype(np.float32)
    logits = dense(pixels, stored, "masks")(keras.layers.Add()([nearest, *zeros]))
    outputs = keras.layers.Activation("sigmoid")(keras.layers.Reshape((*masks.shape[1:], 1))(logits))
    return keras.Model(inputs, outputs, name="membrane_table")


@pytest.fixture(scope="module")
def mnist_test(request):
    import os

    data = os.environ.get("CNNLAB_DATA_DIR")
    if not data or not os.path.isfile(os.path.join(data, "mnist.npz")):
        pytest.skip("CNNLAB_DATA_DIR is not set to the course's shared/data folder")
    from cnnlab.data import load_split

    x, y = load_split("mnist", "test", data)
    return x[..., None], y, data


def test_an_exact_lookup_table_of_mnist_scores_on_the_public_images_and_not_on_the_changed_ones(tmp_path, mnist_test):
    x, y, data = mnist_test
    exact_lookup(x, y).save(tmp_path / "lab2_mnist.keras")
    before = results(lab_spec("lab2_first_convnet", "lab2_mnist", public=True, measures_only=True), tmp_path, data)
    assert before["accuracy"].passed and measured(before["accuracy"]) > 0.99, before  # what it earned before
    now = results(lab_spec("lab2_first_convnet", "lab2_mnist"), tmp_path, data)
    assert not now["accuracy"].passed and now["accuracy"].score == 0
    assert measured(now["accuracy"]) < 0.2, now["accuracy"].message  # the noise: no image is in the table any more
    assert "with noise of" in now["accuracy"].message


def test_a_nearest_template_table_of_mnist_is_not_the_labs_network_its_accuracy_earns_nothing(tmp_path, mnist_test):
    x, y, data = mnist_test
    nearest_template(x, y).save(tmp_path / "lab2_mnist.keras")
    before = results(lab_spec("lab2_first_convnet", "lab2_mnist", public=True, measures_only=True), tmp_path, data)
    assert before["accuracy"].passed and measured(before["accuracy"]) > 0.99, before
    now = results(lab_spec("lab2_first_convnet", "lab2_mnist"), tmp_path, data)
    assert not now["params"].passed and not now["ops"].passed
    assert (
        now["accuracy"].score == 0 and "not awarded: its points go to the lab's network only" in now["accuracy"].message
    )
    assert sum(r.score for r in now.values()) == 0.25  # its output shape, (None, 10)


def test_a_lookup_table_of_the_membrane_slices_with_the_labs_architecture_counts_loses_its_measures(
    tmp_path, mnist_test
):
    from cnnlab.data import load_split

    data = mnist_test[2]
    x, masks = load_split("isbi2012_membrane", "val", data)
    spec = lab_spec("lab8_unet", "lab8_unet")
    params = next(c["expected"] for c in spec.checks if c["check"] == "params")
    membrane_table(x[..., None], masks, params).save(tmp_path / "lab8_unet.keras")
    before = results(lab_spec("lab8_unet", "lab8_unet", public=True), tmp_path, data)
    assert all(r.passed for r in before.values()), before  # 4 of 4 points on the public slices
    assert measured(before["accuracy"]) == measured(before["dice"]) == 1.0
    now = results(spec, tmp_path, data)
    assert now["params"].passed and now["output_shape"].passed
    assert not now["accuracy"].passed and not now["dice"].passed, now
    assert measured(now["dice"]) < 0.5, now["dice"].message
