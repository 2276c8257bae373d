"""Clear errors when an input is too small for a conv or pooling layer.

Keras only says "Computed output size would be zero or negative" from deep inside
the layer; `call_checked` names the layer, the shape it got, the shape it needs
and the smallest network input that would have worked.
"""

import keras


class InputTooSmallError(ValueError):
    """A spatial layer got a feature map smaller than its window."""

    def __init__(self, layer, got, need, min_input):
        self.layer, self.got, self.need, self.min_input = layer, got, need, min_input
        super().__init__(self.describe())

    def describe(self, network=None, input_shape=None):
        kind = (
            "max pool"
            if "MaxPool" in type(self.layer).__name__
            else ("average pool" if "Pool" in type(self.layer).__name__ else "conv")
        )
        size = "x".join(map(str, self.need))
        stride = self.layer.strides[0] if getattr(self.layer, "strides", None) else 1
        got = "x".join(str(d) for d in self.got[1:])
        text = (
            f"'{self.layer.name}' ({kind} {size}, stride {stride}, valid padding) "
            f"gets a {got} feature map, needs at least {size}"
        )
        if network:
            text = f"{network}: {text}"
        if input_shape:
            text += f", from a {'x'.join(map(str, input_shape))} input"
        if self.min_input:
            text += f"; use an input of {'x'.join(map(str, self.min_input))} or more"
        return text + "."


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def window(layer):
    """(kernel pair, stride pair, padding) of a conv or pooling layer; (None, (1, 1), "same") for any other."""
    size = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if size is None:
        return None, (1, 1), "same"
    return _pair(size), _pair(getattr(layer, "strides", None) or size), layer.padding


def _required_input(tensor, need):
    """Walk back from `tensor` to the model input, growing the size `need` it must have."""
    while True:
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            return None
        operation = history.operation
        node = operation._inbound_nodes[history.node_index]
        inputs = node.input_tensors
        if not inputs:
            return need
        size, strides, padding = window(operation)
        if size is not None:
            extent = size if padding == "valid" else (1, 1)
            need = tuple((n - 1) * s + k for n, s, k in zip(need, strides, extent, strict=False))
        elif isinstance(operation, keras.layers.ZeroPadding2D):
            (top, bottom), (left, right) = operation.padding
            need = (max(1, need[0] - top - bottom), max(1, need[1] - left - right))
        elif isinstance(operation, keras.layers.Cropping2D):
            (top, bottom), (left, right) = operation.cropping
            need = (need[0] + top + bottom, need[1] + left + right)
        elif hasattr(operation, "stride"):  # cnnlab Subsample
            need = tuple((n - 1) * operation.stride + 1 for n in need)
        tensor = inputs[0]


def call_checked(layer, x):
    """Call a conv or pooling `layer` on `x`; raise InputTooSmallError if `x` is smaller than its window."""
    size, _, padding = window(layer)
    if size is not None and padding == "valid":
        got = tuple(x.shape[1:3])
        if any(g is not None and g < k for g, k in zip(got, size, strict=False)):
            try:
                min_input = _required_input(x, size)
            except (AttributeError, IndexError):  # a graph we cannot walk: say what we know
                min_input = None
            raise InputTooSmallError(layer, tuple(x.shape), size, min_input)
    return layer(x)
