"""Plots for the labs: learning curves, the layer-1 filter grid, misclassified images, segmentation overlays.

Each function returns a matplotlib Figure (`figure.savefig(path)` to keep it).
"""

from cnnlab.viz.curves import learning_curves
from cnnlab.viz.filters import filter_grid, find_layer
from cnnlab.viz.mistakes import misclassified
from cnnlab.viz.segmentation import segmentation_overlay

__all__ = ["learning_curves", "filter_grid", "find_layer", "misclassified", "segmentation_overlay"]
