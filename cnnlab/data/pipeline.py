"""Input pipelines for the labs: tf.data where TensorFlow is installed, else `keras.utils.PyDataset`s
(`cnnlab.data.arrays`, the same batches for any Keras backend). `choose_engine()` says which one `make` picks.

tf.data, built as its performance guide recommends. Each split: in-memory uint8 arrays -> cache -> [shuffle
over the whole training set, reshuffled each epoch] -> batch -> one vectorized map per batch (channel axis,
label dtype/one-hot) -> prefetch, with tf.data's autotuning off (`prefetched`).
Images stay uint8 until the model: normalization and augmentation are Keras layers inside the model
(`cnnlab.data.preprocessing`), so they run on the GPU when there is one.
"""

import dataclasses
import functools

from cnnlab.data import arrays
from cnnlab.data.datasets import Dataset, load

ENGINES = ("auto", "tf.data", "pydataset")


@functools.cache
def tensorflow_available():
    """True when TensorFlow imports (the GPU machine's JAX and PyTorch environments have none)."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


def choose_engine(choice="auto"):
    """The input pipeline `make` builds: "tf.data" where TensorFlow imports ("auto"), else "pydataset"."""
    if choice not in ENGINES:
        raise ValueError(f"unknown input pipeline {choice!r}. Known: {', '.join(ENGINES)}. Received: engine={choice!r}")
    if choice == "auto":
        return "tf.data" if tensorflow_available() else "pydataset"
    return choice


def prefetched(dataset):
    """`dataset` with two batches prefetched and tf.data's autotuning off.

    With autotuning on, dropping an iterator (Keras does at the end of every epoch) waited about 4 s for the
    tuning thread, at random, on the course's 2-core machine (TensorFlow 2.21): 3 epochs of convnet-mnist took
    24.2 s on average and 31.2 s at worst, against 18.1 s off, at the same step time (`bench/epoch_end.py`).
    Off, a map with `num_parallel_calls=AUTOTUNE` runs on as many threads as there are cores.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(2).with_options(options)


@dataclasses.dataclass(frozen=True)
class Splits:
    """The batches of one lab (tf.data datasets or PyDatasets), with what a model needs to know about them."""

    train: object
    val: object | None
    test: object | None
    train_size: int
    input_shape: tuple
    num_classes: int
    data: Dataset  # the arrays behind them (for plots and normalization statistics)


def _split(x, y, batch_size, shuffle_seed, num_classes, one_hot, engine):
    if engine == "pydataset":
        return arrays.ArrayBatches(x, y, batch_size, shuffle_seed, num_classes, one_hot)
    import tensorflow as tf

    images = tf.data.Dataset.from_tensor_slices(x)
    pairs = images if y is None else tf.data.Dataset.zip(images, tf.data.Dataset.from_tensor_slices(y))
    pairs = pairs.cache()
    if shuffle_seed is not None:
        pairs = pairs.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    pairs = pairs.batch(batch_size)

    def per_batch(images, labels=None):  # vectorized: runs once per batch, not per image
        if images.shape.rank == 3:
            images = images[..., tf.newaxis]
        if labels is None:
            return images
        labels = tf.one_hot(labels, num_classes) if one_hot else tf.cast(labels, tf.int32)
        return images, labels

    return prefetched(pairs.map(per_batch, num_parallel_calls=tf.data.AUTOTUNE))


def make(dataset, batch_size=128, validation=0, seed=0, one_hot=False, engine="auto") -> Splits:
    """Train/validation/test batches of `dataset` (a name for `load`, or a loaded `Dataset`).

    Args:
        batch_size: images per batch (128, as in the lecture).
        validation: for datasets without a validation split, hold out the LAST `validation` training
            images (fixed, not random) as the validation set; 0 gives `val=None`. The membrane set
            uses its own fixed split (`cnnlab.data.MEMBRANE_VALIDATION_SLICES`).
        seed: seed of the training-set shuffle; the epoch orders repeat exactly for one seed.
        one_hot: labels as one-hot float vectors (needed for label smoothing), else int32 indices.
        engine: "tf.data", "pydataset" (`cnnlab.data.arrays`), or "auto": tf.data where TensorFlow imports.
    """
    chosen = choose_engine(engine)
    data = load(dataset) if isinstance(dataset, str) else dataset
    x_train, y_train, x_val, y_val = data.x_train, data.y_train, data.x_val, data.y_val
    if x_val is None and validation:
        if not 0 < validation < len(x_train):
            raise ValueError(
                f"validation must be between 0 and {len(x_train)} images for {data.name}. "
                f"Received: validation={validation}"
            )
        x_train, x_val = x_train[:-validation], x_train[-validation:]
        y_train, y_val = y_train[:-validation], y_train[-validation:]
    num_classes = data.num_classes
    common = dict(batch_size=batch_size, num_classes=num_classes, one_hot=one_hot, engine=chosen)
    input_shape = x_train.shape[1:] if x_train.ndim == 4 else (*x_train.shape[1:], 1)
    return Splits(
        train=_split(x_train, y_train, shuffle_seed=seed, **common),
        val=None if x_val is None else _split(x_val, y_val, shuffle_seed=None, **common),
        test=None if data.x_test is None else _split(data.x_test, data.y_test, shuffle_seed=None, **common),
        train_size=len(x_train),
        input_shape=tuple(input_shape),
        num_classes=num_classes,
        data=data,
    )
