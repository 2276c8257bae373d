"""Lab datasets (`load`), their checksums, tf.data input pipelines (`pipeline.make`; `segmentation.make`
for image/mask pairs) and the preprocessing layers that go inside the model (`preprocessing.with_preprocessing`)."""

from cnnlab.data.checksums import DatasetError, DatasetNotFound, sha256, verify
from cnnlab.data.datasets import (
    MEMBRANE_TRAIN_SLICES,
    MEMBRANE_VALIDATION_SLICES,
    NAMES,
    Dataset,
    keras_cache_dir,
    load,
    load_split,
    pad,
)

__all__ = [
    "DatasetError",
    "DatasetNotFound",
    "sha256",
    "verify",
    "MEMBRANE_TRAIN_SLICES",
    "MEMBRANE_VALIDATION_SLICES",
    "NAMES",
    "Dataset",
    "keras_cache_dir",
    "load",
    "load_split",
    "pad",
]
