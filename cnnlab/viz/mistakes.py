"""A few misclassified test images, with their true and predicted class."""

import math

import matplotlib.pyplot as plt
import numpy as np


def misclassified(model, x, y, count=8, class_names=None, columns=8):
    """The first `count` images of `x` (uint8, as the pipeline gives them) that `model` gets wrong,
    titled "true -> predicted". `class_names` maps class indices to names (default: the indices)."""
    images = x if x.ndim == 4 else x[..., None]
    predicted = np.argmax(model.predict(images, verbose=0), axis=-1)
    wrong = np.flatnonzero(predicted != np.asarray(y).reshape(-1))[:count]
    name = (lambda index: class_names[index]) if class_names else str
    rows = max(1, math.ceil(len(wrong) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.4 * columns, 1.6 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, wrong, strict=False):
        axis.imshow(x[index], cmap="gray" if x.ndim == 3 else None)
        axis.set_title(f"{name(int(y[index]))} -> {name(int(predicted[index]))}", fontsize=8)
    figure.suptitle(f"{len(wrong)} misclassified of the first {len(x)} images (true -> predicted)")
    return figure
