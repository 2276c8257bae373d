"""Depth as the papers count it: "11 weight layers" (VGG), ResNet-152, DenseNet-121."""

import keras


def weight_layers(model):
    """Conv and fc layers on the main path: projection shortcuts (`*_proj`) and auxiliary
    classifiers (`aux*`) do not count, as in the papers' names (ResNet-50 = 1 + 16 x 3 + 1)."""
    return sum(1 for layer in model.layers
               if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
               and not layer.name.endswith("_proj") and not layer.name.startswith("aux"))
