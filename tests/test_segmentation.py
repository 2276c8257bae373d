"""cnnlab.data.segmentation (image/mask batches augmented together, seeded) and cnnlab.train.metrics."""

import numpy as np
import pytest

from cnnlab.data import Dataset, segmentation
from cnnlab.train import metrics


def membrane(n=6, side=16):
    """Random slices (each one unlike the others and unlike its own flips), masks = image > 127; the last 2 validate."""
    x = np.random.default_rng(0).integers(0, 256, (n, side, side), dtype=np.uint8)
    y = (x > 127).astype(np.uint8)
    return Dataset("isbi2012_membrane", x[:-2], y[:-2], x, None, source="memory", x_val=x[-2:], y_val=y[-2:])


def symmetries(a):
    """The 8 flips/90-degree rotations of a square (H, W) array."""
    return [np.rot90(b, k) for b in (a, a.T) for k in range(4)]


def batches(dataset):
    return [(images.numpy(), masks.numpy()) for images, masks in dataset]


def test_batches_have_channel_axes_uint8_images_and_float_masks():
    splits = segmentation.make(membrane(), batch_size=3)
    images, masks = next(iter(splits.train))
    assert images.shape == (3, 16, 16, 1) and images.dtype == "uint8"
    assert masks.shape == (3, 16, 16, 1) and masks.dtype == "float32"
    assert splits.train_size == 4 and splits.input_shape == (16, 16, 1)


def test_validation_is_whole_slices_in_order_not_augmented():
    data = membrane()
    val = batches(segmentation.make(data, batch_size=3).val)
    assert len(val) == 2
    for (image, mask), x, y in zip(val, data.x_val, data.y_val, strict=False):
        np.testing.assert_array_equal(image[0, ..., 0], x)
        np.testing.assert_array_equal(mask[0, ..., 0], y)


def test_augmentation_moves_image_and_mask_together():
    data = membrane()
    seen = set()
    for epoch in range(5):
        for images, masks in batches(segmentation.make(data, batch_size=2, seed=epoch).train):
            for image, mask in zip(images[..., 0], masks[..., 0], strict=False):
                matches = [
                    (i, s)
                    for i, x in enumerate(data.x_train)
                    for s, view in enumerate(symmetries(x))
                    if np.array_equal(view, image)
                ]
                assert len(matches) == 1, "each augmented image is one flip/rotation of one training slice"
                ((i, s),) = matches
                np.testing.assert_array_equal(mask, symmetries(data.y_train[i])[s])
                seen.add(s)
    assert len(seen) > 1, "no slice was ever flipped or rotated"


def test_all_eight_symmetries_occur():
    one = np.random.default_rng(1).integers(0, 256, (1, 8, 8), dtype=np.uint8)
    copies = np.repeat(one, 64, axis=0)
    data = Dataset("isbi2012_membrane", copies, copies, copies, None, source="memory")
    images, _ = next(iter(segmentation.make(data, batch_size=64).train))
    found = {
        next(s for s, view in enumerate(symmetries(one[0])) if np.array_equal(view, image))
        for image in images.numpy()[..., 0]
    }
    assert found == set(range(8))


def test_crops_cut_the_same_window_from_image_and_mask():
    data = membrane(side=20)
    splits = segmentation.make(data, batch_size=4, crop=8, augment="none", seed=3)
    images, masks = next(iter(splits.train))
    assert images.shape == (4, 8, 8, 1) and masks.shape == (4, 8, 8, 1) and splits.input_shape == (8, 8, 1)
    corners = set()
    for image, mask in zip(images.numpy()[..., 0], masks.numpy()[..., 0], strict=False):
        windows = [
            (i, r, c)
            for i, x in enumerate(data.x_train)
            for r in range(13)
            for c in range(13)
            if np.array_equal(x[r : r + 8, c : c + 8], image)
        ]
        assert len(windows) == 1
        ((i, r, c),) = windows
        np.testing.assert_array_equal(mask, data.y_train[i, r : r + 8, c : c + 8])
        corners.add((r, c))
    assert len(corners) > 1, "every crop came from the same place"


def test_one_seed_repeats_the_batches_and_the_epochs_differ():
    first = segmentation.make(membrane(), batch_size=2, seed=5).train
    again = segmentation.make(membrane(), batch_size=2, seed=5).train
    epoch1, epoch2 = batches(first), batches(first)
    for (a, _), (b, _) in zip(epoch1 + epoch2, batches(again) + batches(again), strict=False):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for (a, _), (b, _) in zip(epoch1, epoch2, strict=False))


def test_errors_say_what_was_received():
    with pytest.raises(ValueError, match="Known: none, dihedral. Received: augment='elastic'"):
        segmentation.make(membrane(), augment="elastic")
    with pytest.raises(ValueError, match="crop must be between 1 and 16 .* Received: crop=32"):
        segmentation.make(membrane(), crop=32)
    rgb = Dataset("cifar10", np.zeros((4, 8, 8, 3), np.uint8), np.zeros(4, np.uint8), None, None, source="memory")
    with pytest.raises(ValueError, match=r"Received: x_train \(4, 8, 8, 3\), y_train \(4,\)"):
        segmentation.make(rgb)


# Two classes on four pixels: class 1 is labelled on pixels 0, 1 and predicted on 0, 3.
LABELS, PREDICTED = np.array([[1, 1, 0, 0]]), np.array([[1, 0, 0, 1]])


def test_dice_and_iou_per_class_by_hand():
    for label in (0, 1):  # each class: 1 pixel shared, 2 labelled, 2 predicted, 3 in the union
        assert metrics.dice(LABELS, PREDICTED, label) == pytest.approx(2 * 1 / (2 + 2))
        assert metrics.iou(LABELS, PREDICTED, label) == pytest.approx(1 / 3)
    assert metrics.dice(LABELS, LABELS) == metrics.iou(LABELS, LABELS) == 1.0
    assert metrics.dice(LABELS, 1 - LABELS) == metrics.iou(LABELS, 1 - LABELS) == 0.0


def test_absent_class_scores_one_when_also_not_predicted():
    ones = np.ones((3, 3), np.uint8)
    assert metrics.dice(ones, ones, label=0) == metrics.iou(ones, ones, label=0) == 1.0
    assert metrics.dice(ones, ones, label=1) == 1.0


def test_pixel_error_and_scores():
    assert metrics.pixel_error(LABELS, PREDICTED) == 0.5
    assert metrics.scores(LABELS, PREDICTED) == pytest.approx(
        {"pixel_error": 0.5, "dice_0": 0.5, "iou_0": 1 / 3, "dice_1": 0.5, "iou_1": 1 / 3}
    )
    with pytest.raises(ValueError, match=r"Received: \(1, 4\) and \(4,\)"):
        metrics.pixel_error(LABELS, PREDICTED[0])


class Outputs:
    """Stands in for a model: `predict_on_batch` returns fixed per-pixel outputs for each image."""

    def __init__(self, per_image):
        self.per_image = per_image

    def predict_on_batch(self, images):
        assert images.ndim == 4 and images.shape[-1] == 1
        return np.repeat(self.per_image[None], len(images), axis=0)


def test_predict_masks_thresholds_sigmoid_and_argmaxes_softmax():
    images = np.zeros((3, 1, 2), np.uint8)
    sigmoid = Outputs(np.array([[[0.7], [0.2]]]))
    np.testing.assert_array_equal(metrics.predict_masks(sigmoid, images, batch_size=2), [[[1, 0]]] * 3)
    softmax = Outputs(np.array([[[0.9, 0.1], [0.4, 0.6]]]))
    np.testing.assert_array_equal(metrics.predict_masks(softmax, images), [[[0, 1]]] * 3)
