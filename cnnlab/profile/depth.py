"""Depth as the papers count it: "11 weight layers" (VGG), GoogLeNet's 22, ResNet-152, DenseNet-121."""

import keras


def _inbound_layers(layer):
    for node in layer._inbound_nodes:
        for tensor in node.input_tensors:
            yield tensor._keras_history.operation


def weight_layers(model):
    """The largest number of conv and fc layers on any path from the input to an output.

    Shortcuts, auxiliary classifiers and the parallel branches of an inception module lie on
    shorter paths, so they do not count: ResNet-50 = 1 + 16 x 3 + 1, GoogLeNet = 22.
    """
    depth = {}
    for layer in model.layers:  # Keras lists a functional model's layers inputs first
        before = max((depth[id(inbound)] for inbound in _inbound_layers(layer) if id(inbound) in depth), default=0)
        depth[id(layer)] = before + isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
    return max(depth[id(tensor._keras_history.operation)] for tensor in model.outputs)
