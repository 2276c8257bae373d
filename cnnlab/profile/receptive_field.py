"""Effective receptive field of a stack of layers (slide "effective receptive field")."""

import keras

from cnnlab.blocks.shapes import window


def _kernel_and_stride(layer):
    if isinstance(layer, tuple):
        return layer
    size, strides, _ = window(layer)
    return (1, 1) if size is None else (size[0], strides[0])


def receptive_field(stack, upto=None):
    """Side of the input region that one output unit sees, and the output's stride in input pixels.

    `stack` is a list of (kernel, stride) pairs or Keras layers, or a Sequential-like model
    (a chain of layers: its layers in order, up to and including the layer named `upto`).
    Three 3x3 stride-1 convs: `receptive_field([(3, 1)] * 3) == (7, 1)`, the field of one 7x7.
    """
    if isinstance(stack, keras.Model):
        names = [layer.name for layer in stack.layers]
        if upto is not None and upto not in names:
            raise ValueError(f"{stack.name} has no layer {upto!r}. Layers: {', '.join(names)}")
        stack = stack.layers[: names.index(upto) + 1] if upto else stack.layers
        merges = [layer.name for layer in stack if isinstance(layer, keras.layers.Concatenate | keras.layers.Add)]
        if merges:
            raise ValueError(
                f"receptive_field follows a chain of layers, but '{merges[0]}' merges branches; "
                "pass the (kernel, stride) pairs of one path instead."
            )
    field, jump = 1, 1
    for layer in stack:
        kernel, stride = _kernel_and_stride(layer)
        field += (kernel - 1) * jump
        jump *= stride
    return field, jump
