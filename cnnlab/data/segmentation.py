"""Input pipelines for segmentation: batches of (image, mask) pairs, augmented together; tf.data where
TensorFlow is installed, else `cnnlab.data.arrays.PairBatches` (`pipeline.choose_engine`).

tf.data: each split: uint8 slices -> cache -> [shuffle over the whole training set, reshuffled each epoch] ->
batch -> one vectorized map per batch (channel axes; in training, the same random flips, 90-degree
rotations and crop for an image and its mask) -> prefetch (`pipeline.prefetched`). The augmentation cannot
be a Keras layer inside the model as for classification: the mask never enters the model. The images stay
uint8; their normalization is the model's first layers (`cnnlab.data.preprocessing.with_preprocessing`).
"""

import dataclasses

from cnnlab.data import arrays, pipeline
from cnnlab.data.datasets import Dataset, load

AUGMENTATIONS = ("none", "dihedral")  # dihedral: random flips and 90-degree rotations (the 8 symmetries of a square)


@dataclasses.dataclass(frozen=True)
class SegmentationSplits:
    """Training and validation batches of (uint8 image (B, H, W, 1), float32 mask (B, H, W, 1))."""

    train: object  # a tf.data dataset or a PyDataset
    val: object | None
    train_size: int
    input_shape: tuple  # of the training batches (the crop when cropping)
    data: Dataset  # the arrays behind them (for plots and normalization statistics)
    num_classes: int = 1  # what the network outputs per pixel: one sigmoid (cell interior)


def dihedral(images, masks, seeds):
    """Apply one of the 8 flips/90-degree rotations to each pair of a batch, the same to image and mask.

    `images`, `masks`: (B, S, S, C) square batches; `seeds`: an int64 pair for the stateless draws.
    Three independent coin flips per pair (swap the axes, flip up-down, flip left-right) give each of
    the 8 symmetries with probability 1/8; all pairs of the batch are transformed at once.
    """
    import tensorflow as tf

    if images.shape[1] is not None and images.shape[1] != images.shape[2]:
        raise ValueError(f"90-degree rotations need square images. Received: {images.shape[1]}x{images.shape[2]}")
    coins = tf.random.stateless_uniform((3, tf.shape(images)[0], 1, 1, 1), seed=seeds) < 0.5
    pairs = []
    for x in (images, masks):
        x = tf.where(coins[0], tf.transpose(x, (0, 2, 1, 3)), x)
        x = tf.where(coins[1], tf.reverse(x, axis=[1]), x)
        pairs.append(tf.where(coins[2], tf.reverse(x, axis=[2]), x))
    return tuple(pairs)


def random_crop(images, masks, size, seeds):
    """A random `size` x `size` window per pair of a batch, the same window for image and mask."""
    import tensorflow as tf

    batch, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    top = tf.random.stateless_uniform((batch,), seed=seeds, maxval=height - size + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform((batch,), seed=seeds[::-1], maxval=width - size + 1, dtype=tf.int32)
    rows = top[:, None] + tf.range(size)[None]  # (B, size)
    cols = left[:, None] + tf.range(size)[None]
    return tuple(
        tf.gather(tf.gather(x, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1) for x in (images, masks)
    )


def _split(x, y, batch_size, seed, augment="none", crop=None, engine="tf.data"):
    """Batches of one split; `seed=None`: in order, not augmented (validation)."""
    if engine == "pydataset":
        return arrays.PairBatches(x, y, batch_size, seed, augment, crop)
    import tensorflow as tf

    pairs = tf.data.Dataset.zip(tf.data.Dataset.from_tensor_slices(x), tf.data.Dataset.from_tensor_slices(y)).cache()
    if seed is not None:
        pairs = pairs.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    pairs = pairs.batch(batch_size)

    def channels(images, masks):
        return images[..., tf.newaxis], tf.cast(masks[..., tf.newaxis], tf.float32)

    if seed is None or (augment == "none" and crop is None):
        return pipeline.prefetched(pairs.map(channels, num_parallel_calls=tf.data.AUTOTUNE))

    # One seed pair per batch from a seeded stream that differs each epoch: reproducible, never repeated.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(4)

    def augmented(batch, seeds):
        images, masks = channels(*batch)
        if crop is not None:
            images, masks = random_crop(images, masks, crop, seeds[:2])
        if augment == "dihedral":
            images, masks = dihedral(images, masks, seeds[2:])
        return images, masks

    return pipeline.prefetched(tf.data.Dataset.zip(pairs, seeds).map(augmented, num_parallel_calls=tf.data.AUTOTUNE))


def make(
    dataset="isbi2012_membrane", batch_size=1, augment="dihedral", crop=None, seed=0, engine="auto"
) -> SegmentationSplits:
    """Training and validation datasets of image/mask pairs (a name for `load`, or a loaded `Dataset`).

    Args:
        batch_size: slices (or crops) per training batch; validation batches hold one whole slice.
        augment: "dihedral" (random flips and 90-degree rotations, image and mask alike) or "none".
        crop: side of a random square window cut from each training pair (before the flips), or None
            for whole slices. Validation slices are never cropped.
        seed: seeds the shuffle and the augmentation; one seed gives the same batches epoch by epoch.
        engine: "tf.data", "pydataset" or "auto" (`cnnlab.data.pipeline.choose_engine`).
    """
    chosen = pipeline.choose_engine(engine)
    if augment not in AUGMENTATIONS:
        raise ValueError(
            f"unknown augmentation {augment!r}. Known: {', '.join(AUGMENTATIONS)}. Received: augment={augment!r}"
        )
    data = load(dataset) if isinstance(dataset, str) else dataset
    if data.y_train is None or data.y_train.shape != data.x_train.shape[:3] or data.x_train.ndim != 3:
        raise ValueError(
            f"{data.name}: segmentation needs grayscale slices (N, H, W) with masks of the same shape. "
            f"Received: x_train {data.x_train.shape}, y_train "
            f"{None if data.y_train is None else data.y_train.shape}"
        )
    height, width = data.x_train.shape[1:]
    if crop is not None and not 0 < crop <= min(height, width):
        raise ValueError(
            f"crop must be between 1 and {min(height, width)} for {data.name}'s {height}x{width} "
            f"slices. Received: crop={crop}"
        )
    train = _split(data.x_train, data.y_train, batch_size, seed, augment, crop, chosen)
    val = None if data.x_val is None else _split(data.x_val, data.y_val, 1, seed=None, engine=chosen)
    side = (crop, crop) if crop is not None else (height, width)
    return SegmentationSplits(train, val, len(data.x_train), (*side, 1), data)
