"""The images an accuracy or Dice check measures: the course's public test images, changed for each batch.

A student has the public test sets, so a model could be a lookup table of their images. The lab's config says
how each check's images change (its `shift`, `noise` and `flips` keys, calibrated so that a trained model keeps
its score: `autograder/README.md`), and `changed` draws the changes from a seed the grader keeps
(`cnnlab.grading.secret.images_seed`: the same for every submission of a batch, unknown to every student):

- `shift`: each image moves by whole pixels, up to `shift` along each axis, the border mirrored;
- `noise`: Gaussian noise of that many grey levels (standard deviation) is added, rounded and clipped to uint8;
- `flips`: each image is flipped and turned by one of the 8 symmetries of the square (isotropic images only: the
  membrane slices, whose U-Net trains with the same augmentation).

A segmentation check's masks (labels with the images' height and width) move with their images; noise changes
no label.
"""

import numpy as np

KEYS = ("shift", "noise", "flips")


def changes_of(check):
    """The changes a check's config asks for: {"shift": int, "noise": float, "flips": bool}."""
    return {
        "shift": int(check.get("shift", 0)),
        "noise": float(check.get("noise", 0)),
        "flips": bool(check.get("flips")),
    }


def changed(x, y, changes, seed):
    """(images, labels) changed as `changes` says (see the module's docstring), drawn from `seed` (an int or a
    list of ints); the images stay uint8 (n, h, w, c), the labels keep their shape."""
    rng = np.random.default_rng(seed)
    x, y = np.asarray(x), np.asarray(y)
    spatial = y.ndim >= 3 and y.shape[1:3] == x.shape[1:3]
    if changes["flips"]:
        if x.shape[1] != x.shape[2]:
            raise ValueError(f"flips need square images. Received: images of shape {x.shape}")
        x, y = _flipped(x, y if spatial else None, rng.integers(0, 8, size=len(x)), y)
    if changes["shift"]:
        x, y = _shifted(
            x, y if spatial else None, rng.integers(-changes["shift"], changes["shift"] + 1, (len(x), 2)), y
        )
    if changes["noise"]:
        noisy = x.astype(np.float32) + rng.normal(0.0, changes["noise"], size=x.shape).astype(np.float32)
        x = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return x, y


def _flipped(x, masks, kinds, y):
    """Each image (and mask) turned by `kinds[i] % 4` quarter turns, then mirrored when `kinds[i] >= 4`."""
    x = x.copy()
    moved = None if masks is None else masks.copy()
    for i, kind in enumerate(kinds):
        for array in (x,) if moved is None else (x, moved):
            turned = np.rot90(array[i], int(kind) % 4, axes=(0, 1))
            array[i] = turned[:, ::-1] if kind >= 4 else turned
    return x, (y if moved is None else moved)


def _shifted(x, masks, offsets, y):
    """Each image (and mask) moved by `offsets[i]` = (rows, columns) pixels, the border mirrored."""
    reach = int(np.abs(offsets).max())
    if reach == 0:
        return x, y
    height, width = x.shape[1:3]
    out = np.empty_like(x)
    moved = None if masks is None else np.empty_like(masks)
    padded = np.pad(x, [(0, 0), (reach, reach), (reach, reach)] + [(0, 0)] * (x.ndim - 3), mode="reflect")
    padded_masks = (
        None
        if masks is None
        else np.pad(masks, [(0, 0), (reach, reach), (reach, reach)] + [(0, 0)] * (masks.ndim - 3), mode="reflect")
    )
    for dy, dx in {tuple(o) for o in offsets.tolist()}:
        rows = np.flatnonzero((offsets[:, 0] == dy) & (offsets[:, 1] == dx))
        top, left = reach - dy, reach - dx
        out[rows] = padded[rows, top : top + height, left : left + width]
        if moved is not None:
            moved[rows] = padded_masks[rows, top : top + height, left : left + width]
    return out, (y if moved is None else moved)
