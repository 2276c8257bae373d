"""cnnlab.data: loading from each source, checksums, the membrane split and the error messages (offline)."""

import os
import shutil

import numpy as np
import pytest

from cnnlab import data
from cnnlab.data import datasets


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """Empty CNNLAB_DATA_DIR and Keras cache; every Keras download fails as it does without internet."""
    env_dir, keras_home = tmp_path / "env", tmp_path / "keras"
    (keras_home / "datasets").mkdir(parents=True)
    env_dir.mkdir()
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(env_dir))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))

    def no_internet():
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3] "
            "Temporary failure in name resolution"
        )

    for name in datasets.KERAS_LOADERS:
        monkeypatch.setitem(datasets.KERAS_LOADERS, name, no_internet)
    return env_dir, keras_home / "datasets"


def test_registry_lists_every_course_file():
    sums = data.checksums.read_sums(data.checksums.COURSE_SUMS)
    assert sorted(sums) == sorted(f"{name}.npz" for name in data.NAMES)
    assert all(len(digest) == 64 for digest in sums.values())


def test_mnist_from_data_dir(shared_dir):
    mnist = data.load("mnist")
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert mnist.x_train.dtype == mnist.y_train.dtype == np.uint8
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9] and mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert mnist.source == os.path.join(shared_dir, "mnist.npz")


def test_fashion_mnist_from_data_dir(shared_dir):
    fashion = data.load("fashion_mnist")
    assert fashion.y_train.shape == (60000,) and np.bincount(fashion.y_test).tolist() == [1000] * 10


def test_cifar10_file_matches_registry(shared_dir):
    data.verify(os.path.join(shared_dir, "cifar10.npz"), "cifar10")  # loading it takes ~9 s: checked only


def test_membrane_fixed_split(shared_dir):
    membrane = data.load("isbi2012_membrane")
    assert membrane.x_train.shape == membrane.y_train.shape == (25, 512, 512)
    assert membrane.x_val.shape == membrane.y_val.shape == (5, 512, 512)
    assert membrane.x_test.shape == (30, 512, 512) and membrane.y_test is None
    assert set(np.unique(membrane.y_val).tolist()) == {0, 1}
    with np.load(os.path.join(shared_dir, "isbi2012_membrane.npz")) as arrays:
        np.testing.assert_array_equal(membrane.x_val, arrays["x_train"][25:30])


def test_keras_cache_is_second_source(shared_dir, offline):
    _, cache = offline
    shutil.copy(os.path.join(shared_dir, "mnist.npz"), cache / "mnist.npz")
    assert data.load("mnist").source == str(cache / "mnist.npz")


def test_corrupt_file_names_path_hashes_and_fix(offline):
    env_dir, _ = offline
    (env_dir / "mnist.npz").write_bytes(b"not an npz")
    with pytest.raises(data.DatasetError) as error:
        data.load("mnist")
    message = str(error.value)
    assert str(env_dir / "mnist.npz") in message and "corrupt" in message
    assert data.sha256(env_dir / "mnist.npz") in message
    assert "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64" in message
    assert "Fix:" in message


def test_corrupt_keras_archive_is_caught_before_keras_runs(offline):
    _, cache = offline
    (cache / "cifar-10-batches-py-target_archive").write_bytes(b"truncated")
    with pytest.raises(data.DatasetError, match="cifar-10-batches-py-target_archive is corrupt"):
        data.load("cifar10")


def test_missing_offline_is_one_message_without_keras_traceback(offline):
    env_dir, cache = offline
    with pytest.raises(data.DatasetNotFound) as error:  # a DatasetError, as a corrupt file's
        data.load("fashion_mnist")
    message = str(error.value)
    assert str(env_dir / "fashion_mnist.npz") in message and str(cache / "fashion_mnist.npz") in message
    assert "Keras download failed: URL fetch failure" in message and "Fix: set CNNLAB_DATA_DIR" in message
    assert error.value.__suppress_context__ and error.value.__cause__ is None


def test_membrane_has_no_keras_download(offline, monkeypatch):
    monkeypatch.delenv("CNNLAB_DATA_DIR")
    with pytest.raises(data.DatasetNotFound, match="CNNLAB_DATA_DIR is not set.*Keras has no download for it") as error:
        data.load("isbi2012_membrane")
    assert "go online" not in str(error.value)


def test_keras_download_labels_are_flat(offline, monkeypatch):
    images, labels = np.zeros((4, 28, 28), np.uint8), np.arange(4, dtype=np.uint8).reshape(4, 1)
    monkeypatch.setitem(datasets.KERAS_LOADERS, "fashion_mnist", lambda: ((images, labels), (images, labels)))
    fashion = data.load("fashion_mnist")
    assert fashion.y_train.shape == (4,) and fashion.source == "keras.datasets.fashion_mnist"


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="Known datasets: mnist, fashion_mnist, cifar10, isbi2012_membrane"):
        data.load("mnist10")


def test_pad_centres_images_in_a_field_of_zeros():
    images = np.arange(1, 2 * 28 * 28 + 1).reshape(2, 28, 28).astype(np.uint8)
    padded = data.pad(images, 32)
    assert padded.shape == (2, 32, 32) and padded.dtype == np.uint8
    assert np.array_equal(padded[:, 2:30, 2:30], images) and padded.sum() == images.sum()
    odd = data.pad(np.ones((1, 3, 4, 3), np.uint8), 6)  # odd margin: the extra row at the bottom
    assert odd.shape == (1, 6, 6, 3) and odd[0, 1:4, 1:5].all() and odd.sum() == 36
    with pytest.raises(ValueError, match=r"h, w <= 16. Received: shape \(1, 28, 28\)"):
        data.pad(images[:1], 16)


def test_load_split_reads_only_the_given_folder(offline, tmp_path):
    shutil.copy(
        os.path.join(os.path.dirname(data.checksums.__file__), "registry", "SHA256SUMS"), offline[1] / "mnist.npz"
    )
    with pytest.raises(data.DatasetError, match=f"{tmp_path / 'grader' / 'mnist.npz'} does not exist"):
        data.load_split("mnist", "test", tmp_path / "grader")


def test_load_split_gives_the_labelled_splits(shared_dir):
    x, y = data.load_split("mnist", "test", shared_dir)
    mnist = data.load("mnist")
    assert np.array_equal(x, mnist.x_test) and np.array_equal(y, mnist.y_test)
    x, y = data.load_split("isbi2012_membrane", "val", shared_dir)
    assert x.shape == y.shape == (5, 512, 512)
    np.testing.assert_array_equal(y, data.load("isbi2012_membrane").y_val)
    with pytest.raises(ValueError, match="isbi2012_membrane has labels for the split val only"):
        data.load_split("isbi2012_membrane", "test", shared_dir)
