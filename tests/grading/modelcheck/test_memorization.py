"""Lookup tables of the public test images, built of layers the grader allows and within its weights cap, against the
accuracy and Dice checks of labs 2 and 8 (`autograder/labs/`): each reaches the bar on the public images and now earns
nothing. Needs the course's data (skips without CNNLAB_DATA_DIR); each model is checked in the grader's jailed model
server, as in a batch.

The tables are tests/lookup_tables.py's.

- lab 2, MNIST: an exact lookup table (a template per test image: its label when the image is within a hair of
  one; it dies with the batch's noise) and a nearest-template table (the label of the nearest of the 10,000 test
  images: noise does not stop it, the architecture checks do: its accuracy is not awarded);
- lab 8, membrane: a nearest-template table of the 5 validation slices that returns the stored mask of the nearest
  one, padded to the lab's exact parameter count and output shape (lab 8 checks no operations): only the changed
  slices stop it.
"""

import json

import pytest
from grading_helpers import ROOT
from lookup_tables import exact_lookup, membrane_table, nearest_template

from cnnlab.grading.course import labconfig
from cnnlab.grading.modelcheck import checks

SEED = 20240607  # a batch's images seed (the grader draws it from its secret)
MEASURES = ("accuracy", "dice")


def lab_spec(lab, name, public=False, measures_only=False):
    """The model spec `name` of `lab`'s config; `public`: its images as they are published (no change: the grader
    before this change); `measures_only`: its accuracy and Dice checks only (no architecture check to pass)."""
    config = json.loads((ROOT / "autograder" / "labs" / f"{lab}.json").read_text())
    spec = next(m for m in labconfig.parse(lab, config).models if m.name == name)
    if public:
        spec.checks = [dict(c, shift=0, noise=0, flips=False) if c["check"] in MEASURES else c for c in spec.checks]
    if measures_only:
        spec.checks = [c for c in spec.checks if c["check"] in MEASURES]
    return spec


def results(spec, folder, data):
    return {r.check: r for r in checks.check_model(spec, folder, data, images_seed=SEED)}


def measured(result):
    """The accuracy or Dice a check's message reports."""
    return float(result.message.split(" on ")[0].split()[-1])


@pytest.fixture(scope="module")
def mnist_test(request):
    import os

    data = os.environ.get("CNNLAB_DATA_DIR")
    if not data or not os.path.isfile(os.path.join(data, "mnist.npz")):
        pytest.skip("CNNLAB_DATA_DIR is not set to the course's shared/data folder")
    from cnnlab.data import load_split

    x, y = load_split("mnist", "test", data)
    return x[..., None], y, data


def test_an_exact_lookup_table_of_mnist_scores_on_the_public_images_and_not_on_the_changed_ones(tmp_path, mnist_test):
    x, y, data = mnist_test
    exact_lookup(x, y).save(tmp_path / "lab2_mnist.keras")
    before = results(lab_spec("lab2_first_convnet", "lab2_mnist", public=True, measures_only=True), tmp_path, data)
    assert before["accuracy"].passed and measured(before["accuracy"]) > 0.99, before  # what it earned before
    now = results(lab_spec("lab2_first_convnet", "lab2_mnist"), tmp_path, data)
    assert not now["accuracy"].passed and now["accuracy"].score == 0
    assert measured(now["accuracy"]) < 0.2, now["accuracy"].message  # the noise: no image is in the table any more
    assert "with noise of" in now["accuracy"].message


def test_a_nearest_template_table_of_mnist_is_not_the_labs_network_its_accuracy_earns_nothing(tmp_path, mnist_test):
    x, y, data = mnist_test
    nearest_template(x, y).save(tmp_path / "lab2_mnist.keras")
    before = results(lab_spec("lab2_first_convnet", "lab2_mnist", public=True, measures_only=True), tmp_path, data)
    assert before["accuracy"].passed and measured(before["accuracy"]) > 0.99, before
    now = results(lab_spec("lab2_first_convnet", "lab2_mnist"), tmp_path, data)
    assert not now["params"].passed and not now["ops"].passed
    assert (
        now["accuracy"].score == 0 and "not awarded: its points go to the lab's network only" in now["accuracy"].message
    )
    assert sum(r.score for r in now.values()) == 0.25  # its output shape, (None, 10)


def test_a_lookup_table_of_the_membrane_slices_with_the_labs_architecture_counts_loses_its_measures(
    tmp_path, mnist_test
):
    from cnnlab.data import load_split

    data = mnist_test[2]
    x, masks = load_split("isbi2012_membrane", "val", data)
    spec = lab_spec("lab8_unet", "lab8_unet")
    params = next(c["expected"] for c in spec.checks if c["check"] == "params")
    membrane_table(x[..., None], masks, params).save(tmp_path / "lab8_unet.keras")
    before = results(lab_spec("lab8_unet", "lab8_unet", public=True), tmp_path, data)
    assert all(r.passed for r in before.values()), before  # 4 of 4 points on the public slices
    assert measured(before["accuracy"]) == measured(before["dice"]) == 1.0
    now = results(spec, tmp_path, data)
    assert now["params"].passed and now["output_shape"].passed
    assert not now["accuracy"].passed and not now["dice"].passed, now
    assert measured(now["dice"]) < 0.5, now["dice"].message
