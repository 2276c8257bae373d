"""Input pipelines that need no TensorFlow: `keras.utils.PyDataset`s over in-memory uint8 arrays.

The same batches as the tf.data pipelines (`cnnlab.data.pipeline`, `cnnlab.data.segmentation`): uint8 images
with a channel axis, int32 or one-hot float32 labels, float32 masks; a training split is shuffled every epoch
in an order drawn from (seed, epoch), so one seed repeats its epochs exactly; segmentation pairs get the same
random crop and flips for image and mask, drawn from (seed, epoch, batch). A batch is one fancy-indexing
copy of a few hundred kilobytes (tens of microseconds), so one worker, the default, outruns any training
step (`bench/backends.py` measures both).

`keras.Model.fit` calls `on_epoch_end` after each epoch; a plain `for batch in split` loop does too at its end.
"""

import math

import keras
import numpy as np


class ArrayBatches(keras.utils.PyDataset):
    """Batches of (images, labels), or images alone when `y` is None, from arrays in memory.

    Args:
        x: uint8 images (N, H, W) or (N, H, W, C); a channel axis is added to grayscale batches.
        y: labels (N,) (or masks (N, H, W), kept as they are but for the dtype), or None.
        shuffle_seed: None: in order every epoch; else each epoch a permutation drawn from (seed, epoch).
        one_hot: labels as one-hot float32 vectors of `num_classes`, else int32.
    """

    def __init__(self, x, y, batch_size, shuffle_seed=None, num_classes=None, one_hot=False, **kwargs):
        super().__init__(**kwargs)
        if y is not None and len(x) != len(y):
            raise ValueError(f"images and labels must be as many. Received: {len(x)} images, {len(y)} labels")
        self.x, self.y, self.batch_size = x, y, batch_size
        self.shuffle_seed, self.num_classes, self.one_hot = shuffle_seed, num_classes, one_hot
        self.epoch = 0
        self._order = self._draw_order()

    def _draw_order(self):
        if self.shuffle_seed is None:
            return None
        return np.random.default_rng((self.shuffle_seed, self.epoch)).permutation(len(self.x))

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def indices(self, index):
        """Which rows batch `index` of the current epoch holds (a slice in order, else an index array)."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        window = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return window if self._order is None else self._order[window]

    def __getitem__(self, index):
        rows = self.indices(index)
        images = self.x[rows]
        if images.ndim == 3:
            images = images[..., None]
        if self.y is None:
            return images
        labels = self.y[rows]
        if self.one_hot:
            return images, np.eye(self.num_classes, dtype=np.float32)[labels]
        return images, labels.astype(np.int32)

    def on_epoch_end(self):
        self.epoch += 1
        self._order = self._draw_order()

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]
        self.on_epoch_end()


class PairBatches(ArrayBatches):
    """Segmentation batches (uint8 image (B, H, W, 1), float32 mask (B, H, W, 1)), augmented together.

    Args:
        augment: "dihedral" (each pair one of the 8 flips/90-degree rotations) or "none".
        crop: side of a random square window per pair (before the flips), or None.
        seed: None: in order, never augmented (validation); else shuffle and augmentation seed.
    """

    def __init__(self, x, y, batch_size, seed=None, augment="none", crop=None, **kwargs):
        super().__init__(x, y, batch_size, shuffle_seed=seed, **kwargs)
        self.augment, self.crop = augment, crop

    def __getitem__(self, index):
        rows = self.indices(index)
        images, masks = self.x[rows][..., None], self.y[rows][..., None].astype(np.float32)
        if self.shuffle_seed is None or (self.augment == "none" and self.crop is None):
            return images, masks
        rng = np.random.default_rng((self.shuffle_seed, self.epoch, index))
        if self.crop is not None:
            images, masks = random_crop(images, masks, self.crop, rng)
        if self.augment == "dihedral":
            images, masks = dihedral(images, masks, rng)
        return images, masks


def dihedral(images, masks, rng):
    """One of the 8 flips/90-degree rotations per pair of a (B, S, S, C) batch, the same for image and mask:
    three fair coins per pair (swap the axes, flip up-down, flip left-right), as `segmentation.dihedral`."""
    if images.shape[1] != images.shape[2]:
        raise ValueError(f"90-degree rotations need square images. Received: {images.shape[1]}x{images.shape[2]}")
    coins = rng.random((len(images), 3)) < 0.5
    out_images, out_masks = images.copy(), masks.copy()
    for i, (swap, up_down, left_right) in enumerate(coins):
        for source, target in ((images, out_images), (masks, out_masks)):
            pair = source[i]
            if swap:
                pair = pair.transpose(1, 0, 2)
            if up_down:
                pair = pair[::-1]
            if left_right:
                pair = pair[:, ::-1]
            target[i] = pair
    return out_images, out_masks


def random_crop(images, masks, size, rng):
    """A random `size` x `size` window per pair of a batch, the same window for image and mask."""
    height, width = images.shape[1:3]
    tops = rng.integers(0, height - size + 1, len(images))
    lefts = rng.integers(0, width - size + 1, len(images))
    return tuple(
        np.stack(
            [x[i, top : top + size, left : left + size] for i, (top, left) in enumerate(zip(tops, lefts, strict=False))]
        )
        for x in (images, masks)
    )


def batches(split):
    """How many batches one pass over `split` gives: a PyDataset's length or a finite tf.data cardinality."""
    if isinstance(split, keras.utils.PyDataset):
        return len(split)
    count = int(split.cardinality())
    if count < 0:
        raise ValueError(f"the split must be finite (no .repeat()) to count its batches. Received: cardinality {count}")
    return count
