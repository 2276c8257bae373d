"""Segmentation overlays: an EM slice with its membrane mask and, optionally, a prediction."""

import matplotlib.pyplot as plt
import numpy as np


def segmentation_overlay(image, mask, prediction=None, alpha=0.4):
    """`image` (H, W) uint8 in gray with the membrane pixels (mask == 0, as in the ISBI-2012 labels)
    in red; with a `prediction` (H, W) in {0, 1}, a second panel shows it the same way."""
    panels = [("label", mask)] + ([("prediction", prediction)] if prediction is not None else [])
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4), squeeze=False)
    for axis, (title, labels) in zip(axes.flat, panels, strict=False):
        if labels.shape != image.shape:
            raise ValueError(f"the {title} must have the image's shape {image.shape}. Received: {labels.shape}")
        red = np.zeros((*image.shape, 4), np.float32)
        red[..., 0], red[..., 3] = 1.0, alpha * (np.asarray(labels) == 0)
        axis.imshow(image, cmap="gray")
        axis.imshow(red)
        axis.set_title(f"{title} (membrane in red)")
        axis.axis("off")
    return figure
