"""The layer-1 filter grid, as on the slides: one small image per first-layer kernel."""

import math

import keras
import matplotlib.pyplot as plt
import numpy as np


def find_layer(model, name):
    """The layer called `name` in `model` or in a model nested in it (e.g. behind preprocessing layers)."""
    for layer in model.layers:
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model):
            try:
                return find_layer(layer, name)
            except ValueError:
                pass
    raise ValueError(f"{model.name}: no layer {name!r}. Layers: {', '.join(layer.name for layer in model.layers)}")


def filter_grid(model, layer="conv1", columns=8):
    """Each kernel of `layer` (a Conv2D) as an image, contrast-stretched to [0, 1] per kernel:
    grayscale for 1 input channel, RGB for 3 (the slides' CIFAR-10 filters)."""
    kernels = keras.ops.convert_to_numpy(find_layer(model, layer).kernel)  # (k, k, channels, filters)
    if kernels.ndim != 4 or kernels.shape[2] not in (1, 3):
        raise ValueError(
            f"{layer!r} needs 1 or 3 input channels to be drawn as images. Received: kernel shape {kernels.shape}"
        )
    filters = kernels.shape[-1]
    rows = math.ceil(filters / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(columns, rows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < filters:
            kernel = kernels[..., index].astype(np.float32)
            kernel = (kernel - kernel.min()) / max(float(np.ptp(kernel)), 1e-12)
            axis.imshow(kernel[..., 0] if kernel.shape[-1] == 1 else kernel, cmap="gray", interpolation="nearest")
    figure.suptitle(f"{model.name}: {layer} filters ({kernels.shape[0]}x{kernels.shape[1]}x{kernels.shape[2]})")
    return figure
