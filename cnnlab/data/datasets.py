"""`load(name)`: the lab datasets as uint8 arrays with their standard splits, checked against `data/`.

Sources, in order:
1. `$CNNLAB_DATA_DIR/<name>.npz` (the course's offline files, e.g. `shared/data/`);
2. the Keras cache, `$KERAS_HOME/datasets` or `~/.keras/datasets`: a copied `<name>.npz`, or Keras'
   own `mnist.npz`;
3. the normal Keras download (`keras.datasets.<name>.load_data()`, what students get in Colab).
`load_split(name, split, DIR)` reads one labelled split from `DIR/<name>.npz` only (the autograder's copy).
Every file read is checked against the sha256 lists in `data/` (see `data/README.md`).
"""

import dataclasses
import os
from pathlib import Path

import keras
import numpy as np

from cnnlab.data.checksums import COURSE_SUMS, KERAS_SUMS, DatasetError, DatasetNotFound, verify

NAMES = ("mnist", "fashion_mnist", "cifar10", "isbi2012_membrane")
NUM_CLASSES = {"mnist": 10, "fashion_mnist": 10, "cifar10": 10, "isbi2012_membrane": 2}  # membrane: 0/1 masks

# Keras' loaders (source 3) and the files they leave in the Keras cache (checked when listed in data/).
KERAS_LOADERS = {
    "mnist": keras.datasets.mnist.load_data,
    "fashion_mnist": keras.datasets.fashion_mnist.load_data,
    "cifar10": keras.datasets.cifar10.load_data,
}
KERAS_FILES = {"mnist": ("mnist.npz",), "cifar10": ("cifar-10-batches-py-target_archive",)}

# ISBI-2012 membrane: 30 labelled serial sections, no test labels. Fixed split: the last 5 slices of
# the stack (25..29) are the validation set, slices 0..24 train. A contiguous block, because
# neighbouring sections look alike: a random split would put near-copies of validation slices in training.
MEMBRANE_VALIDATION_SLICES = slice(25, 30)
MEMBRANE_TRAIN_SLICES = slice(0, 25)


@dataclasses.dataclass(frozen=True, repr=False)
class Dataset:
    """uint8 images (N, H, W) or (N, H, W, C) and uint8 labels (N,) (masks (N, H, W) for the membrane set).

    `y_test` is None when the test labels were never published; `x_val`/`y_val` are set only where the
    dataset defines a validation split (the membrane set). `source` is the file or loader it came from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray | None
    source: str
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    @property
    def num_classes(self):
        """10 for the digit/object sets, 2 for the membrane masks; else the largest training label + 1."""
        return NUM_CLASSES.get(self.name, int(self.y_train.max()) + 1)

    def __repr__(self):
        val = 0 if self.x_val is None else len(self.x_val)
        sizes = f"train {len(self.x_train)}, val {val}, test {len(self.x_test)}"
        return f"Dataset({self.name!r}: {sizes}, image {self.x_train.shape[1:]}, from {self.source})"


def keras_cache_dir():
    """Where Keras caches downloads: `$KERAS_HOME/datasets`, by default `~/.keras/datasets`."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"


def load(name) -> Dataset:
    """The dataset `name` (one of `NAMES`) from the first source that has it; see the module docstring.

    Raises `DatasetError` (one message: what was looked for where, and how to fix it) when a file fails its
    checksum, and its subclass `DatasetNotFound` when no source has the data.
    """
    if name not in NAMES:
        raise ValueError(f"unknown dataset {name!r}. Known datasets: {', '.join(NAMES)}. Received: name={name!r}")
    looked = []
    env_dir = os.environ.get("CNNLAB_DATA_DIR")
    if env_dir:
        path = Path(env_dir).expanduser() / f"{name}.npz"
        if path.is_file():
            verify(path, name, lists=(COURSE_SUMS,))
            return _from_npz(name, path)
        looked.append(f"{path} (CNNLAB_DATA_DIR): not there")
    else:
        looked.append("$CNNLAB_DATA_DIR/<name>.npz: CNNLAB_DATA_DIR is not set")

    path = keras_cache_dir() / f"{name}.npz"
    if path.is_file():
        verify(path, name)
        return _from_npz(name, path)
    looked.append(f"{path} (Keras cache): not there")

    if name not in KERAS_LOADERS:
        raise DatasetNotFound(_missing(name, looked, "Keras has no download for it"))
    for file_name in KERAS_FILES.get(name, ()):  # a corrupt cached file: say so before Keras tries again
        if (keras_cache_dir() / file_name).is_file():
            verify(keras_cache_dir() / file_name, name, lists=(KERAS_SUMS,))
    try:
        (x_train, y_train), (x_test, y_test) = KERAS_LOADERS[name]()
    except Exception as error:  # any failure inside Keras' download becomes one message
        raise DatasetNotFound(_missing(name, looked, f"the Keras download failed: {error}")) from None
    for file_name in KERAS_FILES.get(name, ()):  # what Keras just downloaded (it may keep only the extracted folder)
        if (keras_cache_dir() / file_name).is_file():
            verify(keras_cache_dir() / file_name, name, lists=(KERAS_SUMS,))
    return Dataset(name, x_train, y_train.reshape(-1), x_test, y_test.reshape(-1), source=f"keras.datasets.{name}")


def _missing(name, looked, last):
    online = ", or go online once so that Keras can download it" if name in KERAS_LOADERS else ""
    return (
        f"{name}: no copy found. Looked for: {'; '.join(looked)}; {last}. Fix: set CNNLAB_DATA_DIR to a "
        f"folder holding {name}.npz (the course's shared/data), or copy {name}.npz into "
        f"{keras_cache_dir()}{online}."
    )


def _from_npz(name, path):
    with np.load(path, allow_pickle=False) as arrays:
        required = {"x_train", "y_train", "x_test"} | ({"y_test"} if name != "isbi2012_membrane" else set())
        missing = required - set(arrays.files)
        if missing:
            raise DatasetError(
                f"{name}: {path} lacks the arrays {', '.join(sorted(missing))}; it holds "
                f"{', '.join(arrays.files)}. Fix: replace it with the course's {name}.npz."
            )
        data = {key: arrays[key] for key in arrays.files}
    if name == "isbi2012_membrane":
        return Dataset(
            name,
            data["x_train"][MEMBRANE_TRAIN_SLICES],
            data["y_train"][MEMBRANE_TRAIN_SLICES],
            data["x_test"],
            None,
            source=str(path),
            x_val=data["x_train"][MEMBRANE_VALIDATION_SLICES],
            y_val=data["y_train"][MEMBRANE_VALIDATION_SLICES],
        )
    return Dataset(
        name, data["x_train"], data["y_train"].reshape(-1), data["x_test"], data["y_test"].reshape(-1), source=str(path)
    )


def load_split(name, split, directory):
    """(images, labels) of the labelled split `split` ("test", or "val" for the membrane set) of `name`,
    from `directory/<name>.npz` only, checked against `data/`. Reads only the arrays of that split: the
    grader evaluates on CIFAR-10's test set without decompressing its 150 MB training set."""
    if name not in NAMES:
        raise ValueError(f"unknown dataset {name!r}. Known datasets: {', '.join(NAMES)}. Received: name={name!r}")
    path = Path(directory).expanduser() / f"{name}.npz"
    if not path.is_file():
        raise DatasetError(
            f"{name}: {path} does not exist. Fix: copy the course's {name}.npz (shared/data) into {path.parent}."
        )
    splits = {"val": ("x_train", "y_train")} if name == "isbi2012_membrane" else {"test": ("x_test", "y_test")}
    if split not in splits:
        raise ValueError(f"{name} has labels for the split {', '.join(splits)} only. Received: split={split!r}")
    verify(path, name, lists=(COURSE_SUMS,))
    with np.load(path, allow_pickle=False) as arrays:
        x, y = (arrays[key] for key in splits[split])
    if name == "isbi2012_membrane":
        return x[MEMBRANE_VALIDATION_SLICES], y[MEMBRANE_VALIDATION_SLICES]
    return x, y.reshape(-1)


def pad(images, size):
    """Images (n, h, w) or (n, h, w, c) centred in a `size` x `size` field of zeros, same dtype.

    MNIST for LeNet-5: `pad(x, 32)` adds 2 rows and 2 columns on every side. An odd margin puts the extra
    row (column) at the bottom (right).
    """
    images = np.asarray(images)
    h, w = images.shape[1:3]
    if images.ndim not in (3, 4) or h > size or w > size:
        raise ValueError(
            f"expected images (n, h, w) or (n, h, w, c) with h, w <= {size}. Received: shape {images.shape}"
        )
    widths = [(0, 0), ((size - h) // 2, size - h - (size - h) // 2), ((size - w) // 2, size - w - (size - w) // 2)]
    return np.pad(images, widths + [(0, 0)] * (images.ndim - 3))
