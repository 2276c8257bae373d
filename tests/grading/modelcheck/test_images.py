"""The model checks' changed test images (cnnlab/grading/modelcheck/images.py), the lab configs' keys for them, and
the rule that the accuracy and Dice points go to a model whose architecture checks pass (offline, tiny models)."""

import numpy as np
import pytest
from grading_helpers import TINY, set_tiny_weights, tiny_config, tiny_model, tiny_test_set

from cnnlab.grading.course import labconfig
from cnnlab.grading.errors import GradingError
from cnnlab.grading.modelcheck import checks
from cnnlab.grading.modelcheck.images import changed


def digits(n=50, side=12, seed=0):
    """uint8 images (n, side, side, 1) with one bright square each, and masks (n, side, side) of that square."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, side, side, 1), np.uint8)
    for i, (r, c) in enumerate(rng.integers(3, side - 5, size=(n, 2))):
        x[i, r : r + 3, c : c + 2] = 200
    return x, (x[..., 0] > 0).astype(np.uint8)


def test_shifts_move_each_image_and_its_mask_by_whole_pixels_within_the_reach():
    x, masks = digits()
    moved, moved_masks = changed(x, masks, {"shift": 2, "noise": 0, "flips": False}, seed=1)
    assert moved.dtype == np.uint8 and moved.shape == x.shape
    assert np.array_equal(moved_masks, (moved[..., 0] > 0).astype(np.uint8))  # the masks moved with their images
    offsets = [
        np.argwhere(after[..., 0])[0] - np.argwhere(before[..., 0])[0] for before, after in zip(x, moved, strict=True)
    ]
    assert np.abs(offsets).max() == 2 and len({tuple(o) for o in offsets}) > 10
    labels = np.arange(50)
    assert changed(x, labels, {"shift": 2, "noise": 0, "flips": False}, seed=1)[1] is labels  # a class stays


def test_flips_and_noise_change_the_images_not_the_labels_the_same_way_for_one_seed():
    x, masks = digits()
    changes = {"shift": 1, "noise": 6.0, "flips": True}
    first, again, other = (changed(x, masks, changes, seed) for seed in ([7, 1], [7, 1], [8, 1]))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True)) and not np.array_equal(
        first[0], other[0]
    )
    square = first[0][..., 0][first[1] > 0].astype(float) - 200  # the noise on the moved squares (none clipped)
    assert 5 < square.std() < 7 and abs(square.mean()) < 1 and first[0].dtype == np.uint8
    turned = changed(x, masks, {"shift": 0, "noise": 0, "flips": True}, seed=3)
    assert np.array_equal(turned[1], (turned[0][..., 0] > 0).astype(np.uint8))
    assert sorted({int(m.sum()) for m in turned[1]}) == [6]  # each square turned, none lost
    with pytest.raises(ValueError, match="flips need square images"):
        changed(x[:, :, :10], masks[:, :, :10], {"shift": 0, "noise": 0, "flips": True}, seed=0)


def test_a_check_on_a_course_dataset_must_say_how_its_images_change():
    config = tiny_config()
    check = config["models"][0]["checks"][3]
    check.pop("test_set")
    check["dataset"] = "mnist"
    with pytest.raises(GradingError, match="public 'mnist' images, which a model could have memorized: give 'shift'"):
        labconfig.parse(TINY, config, "labs/lab0_tiny.json")
    check.update(shift=1, noise=4.5)
    labconfig.parse(TINY, config)
    check["shift"] = 0.5
    with pytest.raises(GradingError, match="shift is a whole number of pixels >= 0"):
        labconfig.parse(TINY, config)


def test_the_accuracy_points_go_only_to_a_model_whose_architecture_checks_pass(tmp_path):
    tiny_test_set(tmp_path / "tiny_test.npz")
    model = tiny_model(hidden=3)  # right on every test image, but not the lab's network
    model.get_layer("hidden").set_weights([np.eye(4, 3, dtype="float32"), np.zeros(3, "float32")])
    model.get_layer("fc_out").set_weights([np.eye(3, 2, dtype="float32"), np.zeros(2, "float32")])
    model.save(tmp_path / f"{TINY}.keras")
    spec = labconfig.parse(TINY, tiny_config()).models[0]
    results = {r.check: r for r in checks.check_model(spec, tmp_path, tmp_path)}
    assert [r.check for r in results.values() if r.passed] == ["output_shape"]
    assert results["accuracy"].score == 0 and results["accuracy"].message == (
        "accuracy 1.0000 on the grader's test set tiny_test.npz, needs at least 0.99; not awarded: its points go to "
        "the lab's network only, and this model's params, ops differ"
    )
    set_tiny_weights(tiny_model()).save(tmp_path / f"{TINY}.keras")
    assert all(r.passed for r in checks.check_model(spec, tmp_path, tmp_path))
