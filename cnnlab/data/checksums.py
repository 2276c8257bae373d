"""The sha256 registry of the datasets (package data in `cnnlab/data/registry/`), and the check of one file."""

import functools
import hashlib
from importlib import resources
from pathlib import Path

REGISTRY = "cnnlab.data.registry"  # the package that holds the lists, read with importlib.resources
COURSE_SUMS = "SHA256SUMS"  # the course's <name>.npz files
KERAS_SUMS = "KERAS_SHA256SUMS"  # what keras.datasets downloads


class DatasetError(RuntimeError):
    """A dataset is missing or corrupt; the message says what was looked for where, and the fix."""


class DatasetNotFound(DatasetError):
    """No copy of a dataset anywhere it was looked for, and no download (as opposed to a corrupt or wrong file)."""


@functools.cache
def read_sums(list_name):
    """`{file name: sha256}` from one `sha256sum`-format list of the registry."""
    path = resources.files(REGISTRY).joinpath(list_name)
    if not path.is_file():
        raise DatasetError(
            f"the checksum list {list_name} is missing from the installed package ({REGISTRY}): "
            f"the cnnlab installation is incomplete; reinstall it (pip install --force-reinstall cnnlab)."
        )
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, file_name = line.split(maxsplit=1)
            sums[file_name.lstrip("*")] = digest
    return sums


def sha256(path):
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expected_hashes(file_name, lists=(COURSE_SUMS, KERAS_SUMS)):
    """The hashes the registry accepts for `file_name` (mnist.npz has two: the course's and Keras')."""
    return {read_sums(name)[file_name] for name in lists if file_name in read_sums(name)}


def verify(path, dataset, lists=(COURSE_SUMS, KERAS_SUMS)):
    """Raise `DatasetError` unless the sha256 of `path` is one the registry lists for its file name."""
    path = Path(path)
    accepted = expected_hashes(path.name, lists)
    if not accepted:
        raise DatasetError(
            f"{dataset}: {path.name} has no entry in {', '.join(lists)} in {REGISTRY}, so {path} cannot be checked."
        )
    actual = sha256(path)
    if actual not in accepted:
        raise DatasetError(
            f"{dataset}: {path} is corrupt or not the expected file: its sha256 is {actual}, expected "
            f"{' or '.join(sorted(accepted))} (from {REGISTRY}). Fix: copy it again from the course's "
            f"shared/data folder, or delete it so that the next source is used."
        )
