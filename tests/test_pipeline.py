"""cnnlab.data.pipeline and preprocessing on small in-memory datasets: shapes, dtypes, order, seeds."""

import numpy as np
import pytest

from cnnlab.data import Dataset, pipeline, preprocessing


def tiny(n=200, shape=(28, 28)):
    """Image i carries i in its first pixel, label i % 10: the order of a pipeline is readable."""
    x = np.zeros((n, *shape), np.uint8)
    x.reshape(n, -1)[:, 0] = np.arange(n)
    y = (np.arange(n) % 10).astype(np.uint8)
    return Dataset("tiny", x, y, x[:50].copy(), y[:50].copy(), source="memory")


def ids(dataset):
    return np.concatenate([images.numpy().reshape(len(images), -1)[:, 0] for images, _ in dataset])


def test_grayscale_batches_get_a_channel_axis_and_stay_uint8():
    splits = pipeline.make(tiny(), batch_size=32)
    images, labels = next(iter(splits.train))
    assert images.shape == (32, 28, 28, 1) and images.dtype == "uint8" and labels.dtype == "int32"
    assert splits.input_shape == (28, 28, 1) and splits.num_classes == 10 and splits.val is None


def test_color_images_and_one_hot_labels():
    splits = pipeline.make(tiny(shape=(32, 32, 3)), batch_size=16, one_hot=True)
    images, labels = next(iter(splits.test))
    assert images.shape == (16, 32, 32, 3) and labels.shape == (16, 10) and labels.dtype == "float32"
    np.testing.assert_array_equal(np.argmax(labels, axis=1), np.arange(16) % 10)


def test_test_split_keeps_order_and_last_batch():
    splits = pipeline.make(tiny(), batch_size=32)
    assert ids(splits.test).tolist() == list(range(50))


def test_train_epoch_is_a_permutation_reshuffled_each_epoch_and_seeded():
    train = pipeline.make(tiny(), batch_size=64, seed=3).train
    first, second = ids(train), ids(train)
    assert sorted(first.tolist()) == list(range(200)) and first.tolist() != second.tolist()
    again = pipeline.make(tiny(), batch_size=64, seed=3).train
    assert ids(again).tolist() == first.tolist() and ids(again).tolist() == second.tolist()
    assert ids(pipeline.make(tiny(), batch_size=64, seed=4).train).tolist() != first.tolist()


def test_validation_is_the_last_training_images():
    splits = pipeline.make(tiny(), batch_size=64, validation=40)
    assert splits.train_size == 160 and ids(splits.val).tolist() == list(range(160, 200))
    with pytest.raises(ValueError, match="Received: validation=200"):
        pipeline.make(tiny(), validation=200)


def test_membrane_masks_and_unlabelled_test_set():
    x = np.zeros((3, 16, 16), np.uint8)
    membrane = Dataset("isbi2012_membrane", x, x, x, None, source="memory", x_val=x[:1], y_val=x[:1])
    splits = pipeline.make(membrane, batch_size=2)
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
