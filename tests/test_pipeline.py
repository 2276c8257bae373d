"""cnnlab.data.pipeline and preprocessing on small in-memory datasets: shapes, dtypes, order, seeds."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cnnlab.data import Dataset, pipeline, preprocessing, segmentation

ENGINES = pytest.mark.parametrize("engine", ["tf.data", "pydataset"])


def tiny(n=200, shape=(28, 28)):
    """Image i carries i in its first pixel, label i % 10: the order of a pipeline is readable."""
    x = np.zeros((n, *shape), np.uint8)
    x.reshape(n, -1)[:, 0] = np.arange(n)
    y = (np.arange(n) % 10).astype(np.uint8)
    return Dataset("tiny", x, y, x[:50].copy(), y[:50].copy(), source="memory")


def ids(dataset):
    return np.concatenate([np.asarray(images).reshape(len(images), -1)[:, 0] for images, _ in dataset])


@ENGINES
def test_grayscale_batches_get_a_channel_axis_and_stay_uint8(engine):
    splits = pipeline.make(tiny(), batch_size=32, engine=engine)
    images, labels = next(iter(splits.train))
    assert images.shape == (32, 28, 28, 1) and images.dtype == "uint8" and labels.dtype == "int32"
    assert splits.input_shape == (28, 28, 1) and splits.num_classes == 10 and splits.val is None


@ENGINES
def test_color_images_and_one_hot_labels(engine):
    splits = pipeline.make(tiny(shape=(32, 32, 3)), batch_size=16, one_hot=True, engine=engine)
    images, labels = next(iter(splits.test))
    assert images.shape == (16, 32, 32, 3) and labels.shape == (16, 10) and labels.dtype == "float32"
    np.testing.assert_array_equal(np.argmax(labels, axis=1), np.arange(16) % 10)


@ENGINES
def test_test_split_keeps_order_and_last_batch(engine):
    splits = pipeline.make(tiny(), batch_size=32, engine=engine)
    assert ids(splits.test).tolist() == list(range(50))


@ENGINES
def test_train_epoch_is_a_permutation_reshuffled_each_epoch_and_seeded(engine):
    train = pipeline.make(tiny(), batch_size=64, seed=3, engine=engine).train
    first, second = ids(train), ids(train)
    assert sorted(first.tolist()) == list(range(200)) and first.tolist() != second.tolist()
    again = pipeline.make(tiny(), batch_size=64, seed=3, engine=engine).train
    assert ids(again).tolist() == first.tolist() and ids(again).tolist() == second.tolist()
    assert ids(pipeline.make(tiny(), batch_size=64, seed=4, engine=engine).train).tolist() != first.tolist()


@ENGINES
def test_validation_is_the_last_training_images(engine):
    splits = pipeline.make(tiny(), batch_size=64, validation=40, engine=engine)
    assert splits.train_size == 160 and ids(splits.val).tolist() == list(range(160, 200))
    with pytest.raises(ValueError, match="Received: validation=200"):
        pipeline.make(tiny(), validation=200, engine=engine)


@ENGINES
def test_membrane_masks_and_unlabelled_test_set(engine):
    x = np.zeros((3, 16, 16), np.uint8)
    membrane = Dataset("isbi2012_membrane", x, x, x, None, source="memory", x_val=x[:1], y_val=x[:1])
    splits = pipeline.make(membrane, batch_size=2, engine=engine)
    images, masks = next(iter(splits.val))
    assert images.shape == (1, 16, 16, 1) and masks.shape == (1, 16, 16)
    assert next(iter(splits.test)).shape == (2, 16, 16, 1)


def test_preprocessing_inside_the_model_standardizes_uint8_input():
    import keras

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 8, 8, 3), dtype=np.uint8)
    identity = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Identity()], name="identity")
    model = preprocessing.with_preprocessing(identity, x, augment="flip-translate")
    out = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-4)
    assert model.name == "identity" and model.get_layer("identity") is identity


@pytest.mark.parametrize("shape", [(300, 5, 7), (300, 5, 7, 3)])
def test_channel_statistics_are_numpys_mean_and_variance_per_channel(shape):
    x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    for images in (x, x.astype(np.float32) / 255):
        pixels = images.reshape(-1, 1 if x.ndim == 3 else 3).astype(np.float64)
        mean, variance = preprocessing.channel_statistics(images, chunk=1000)  # several chunks and a partial one
        np.testing.assert_allclose(mean, pixels.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(variance, pixels.var(axis=0), rtol=1e-9)


def test_tf_data_pipelines_run_without_autotuning():
    """Its tuning thread made the end of each epoch wait about 4 s at random (bench/epoch_end.py)."""
    x = np.zeros((8, 16, 16), np.uint8)
    membrane = Dataset("membrane", x, x, None, None, "memory", x_val=x[:2], y_val=x[:2])
    splits = pipeline.make(tiny(), validation=20, engine="tf.data")
    pairs = segmentation.make(membrane, crop=8, engine="tf.data")
    datasets = [splits.train, splits.val, splits.test, pairs.train, pairs.val]
    assert [dataset.options().autotune.enabled for dataset in datasets] == [False] * 5


def test_unknown_augmentation():
    with pytest.raises(ValueError, match="Known: none, translate, flip-translate, flip-crop"):
        preprocessing.augmentation("mixup")


def test_flip_crop_shifts_each_image_by_whole_pixels_up_to_4():
    # He et al.'s pad-4-and-crop: every whole shift -4..4 on each axis, per image, about equally often
    image = np.zeros((1, 32, 32, 1), np.float32)
    image[0, 16, 16] = 1
    _, crop = preprocessing.augmentation("flip-crop", seed=0)
    shifted = np.asarray(crop(np.repeat(image, 1800, axis=0), training=True))[..., 0]
    assert np.allclose(shifted.sum(axis=(1, 2)), 1)  # one pixel moved whole, no interpolation
    rows, cols = np.nonzero(shifted)[1] - 16, np.nonzero(shifted)[2] - 16
    for shifts in (rows, cols):
        counts = np.bincount(shifts + 4, minlength=9)
        assert len(counts) == 9 and counts.min() > 150 and counts.max() < 250, counts  # 200 each expected
    assert np.asarray(crop(image, training=False)[0, 16, 16, 0]) == 1  # no shift at test time


def test_unknown_engine():
    with pytest.raises(ValueError, match="Known: auto, tf.data, pydataset"):
        pipeline.make(tiny(), engine="grain")


def test_pydataset_segmentation_pairs_are_cropped_and_flipped_together():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4, 24, 24), dtype=np.uint8)
    slices = Dataset(
        "isbi2012_membrane", x, (x > 127).astype(np.uint8), x, None, source="memory", x_val=x[:1], y_val=x[:1]
    )
    splits = segmentation.make(slices, batch_size=2, crop=16, engine="pydataset", seed=1)
    epochs = [list(splits.train) for _ in range(2)]
    for images, masks in epochs[0] + epochs[1]:
        assert images.shape == masks.shape == (2, 16, 16, 1) and images.dtype == np.uint8 and masks.dtype == np.float32
        np.testing.assert_array_equal(masks, (images > 127).astype(np.float32))  # the same window and flips
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(*epochs, strict=False))  # new crops and flips every epoch
    again = segmentation.make(slices, batch_size=2, crop=16, engine="pydataset", seed=1)
    np.testing.assert_array_equal(next(iter(again.train))[0], epochs[0][0][0])  # one seed, the same batches
    image, _ = next(iter(splits.val))
    assert image.shape == (1, 24, 24, 1) and np.array_equal(image[0, ..., 0], x[0])  # validation as it is


# Run in a fresh interpreter where `import tensorflow` fails, under JAX: the pipelines and a training run.
# TensorFlow is hidden by an import hook, not by `sys.modules["tensorflow"] = None`: Keras' preprocessing
# layers take any "tensorflow" key in sys.modules, None included, for TensorFlow being there (keras 3.15,
# utils/backend_utils.in_tf_graph), which no machine without TensorFlow has.
WITHOUT_TENSORFLOW = textwrap.dedent("""
    import importlib.abc, sys

    class NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "tensorflow":
                raise ImportError(f"No module named {name!r} (hidden by the test)")

    sys.meta_path.insert(0, NoTensorFlow())
    import numpy as np
    from cnnlab.data import Dataset, arrays, pipeline, segmentation
    from cnnlab.train import reproduce

    assert pipeline.choose_engine() == "pydataset"
    rng = np.random.default_rng(0)
    y = (np.arange(512) % 10).astype(np.uint8)
    x = rng.integers(0, 50, (512, 28, 28), dtype=np.uint8)
    x[np.arange(512), 2 * y, :] = 255  # the label is a white row
    digits = Dataset("mnist", x, y, x[:128], y[:128], source="memory")
    images, labels = pipeline.make(digits, batch_size=64, one_hot=True).train[0]
    assert images.shape == (64, 28, 28, 1) and labels.shape == (64, 10)
    result = reproduce("convnet-mnist", epochs=3, data=digits, verbose=0)
    assert result.test_error < 0.5, result.describe()
    membrane = Dataset("isbi2012_membrane", x[:4], (x[:4] > 127).astype(np.uint8), x[:4], None, source="memory",
                       x_val=x[:1], y_val=x[:1])
    assert isinstance(segmentation.make(membrane, crop=16).train, arrays.PairBatches)
    assert not any(name.split(".")[0] == "tensorflow" for name in sys.modules)
    print("trained without TensorFlow:", result.describe())
""")


def test_pipelines_and_training_need_no_tensorflow():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "trained without TensorFlow: convnet-mnist" in run.stdout
