"""Residual units (He et al. 2016): basic and bottleneck, with their plain (no-skip) counterparts.

Layer names, for a unit `name` (e.g. "conv3_1"): `name_a`, `name_b` (`name_c`) the convs of the
main branch with `_bn` and `_relu`; `name_subsample` and `name_proj` the shortcut; `name_add`;
`name_out` the final ReLU.
"""

import keras
from keras import layers, ops

from cnnlab.blocks.conv import conv_unit


@keras.saving.register_keras_serializable(package="cnnlab")
class Subsample(keras.layers.Layer):
    """Keep every `stride`-th row and column: the skip connection's downsampling.

    Followed by a 1x1 conv, this equals a 1x1 conv of stride 2, "both downsampling and
    projecting", but the lecture counts the subsampling on its own (one op per kept element).
    """

    def __init__(self, stride=2, **kwargs):
        super().__init__(**kwargs)
        self.stride = stride

    def call(self, inputs):
        return inputs[:, :: self.stride, :: self.stride, :]

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape

        def shrink(d):
            return None if d is None else -(-d // self.stride)

        return (batch, shrink(height), shrink(width), channels)

    def get_config(self):
        return {**super().get_config(), "stride": self.stride}


@keras.saving.register_keras_serializable(package="cnnlab")
class ZeroPadChannels(keras.layers.Layer):
    """Append zero feature maps up to `channels`: the parameter-free shortcut (option A)."""

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels

    def call(self, inputs):
        extra = self.channels - ops.shape(inputs)[-1]
        return ops.pad(inputs, [[0, 0], [0, 0], [0, 0], [0, extra]])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


SHORTCUTS = ("projection", "zero_pad", None)


def _shortcut(x, channels, strides, name, kind, batch_norm, use_bias):
    """Identity when shapes match; else subsample (stride 2) and project (1x1 conv) or zero-pad."""
    if kind not in SHORTCUTS:
        raise ValueError(f"'{name}': shortcut must be one of {SHORTCUTS}. Received: shortcut={kind!r}")
    if strides == 1 and x.shape[-1] == channels:
        return x
    if strides != 1:
        x = Subsample(strides, name=f"{name}_subsample")(x)
    if kind == "zero_pad":
        return ZeroPadChannels(channels, name=f"{name}_pad")(x) if x.shape[-1] != channels else x
    return conv_unit(x, channels, 1, name=f"{name}_proj", activation=None, batch_norm=batch_norm, use_bias=use_bias)


def _merge(main, x, channels, strides, name, shortcut, batch_norm, use_bias):
    if shortcut is not None:
        skip = _shortcut(x, channels, strides, name, shortcut, batch_norm, use_bias)
        main = layers.Add(name=f"{name}_add")([main, skip])
    return layers.ReLU(name=f"{name}_out")(main)


def residual_unit(x, filters, name, strides=1, shortcut="projection", batch_norm=True, use_bias=None):
    """Basic unit: 3x3 conv (stride `strides`) - ReLU - 3x3 conv, plus the skip, then ReLU.

    `shortcut=None` gives the "plain" unit of the degradation experiment; "zero_pad" is the
    parameter-free option A of the CIFAR ResNets; "projection" a 1x1 conv when shapes change.
    `use_bias` defaults to `not batch_norm` (Keras' own ResNet50 has both: `use_bias=True`).
    """
    conv = dict(batch_norm=batch_norm, use_bias=use_bias)
    y = conv_unit(x, filters, 3, name=f"{name}_a", strides=strides, **conv)
    y = conv_unit(y, filters, 3, name=f"{name}_b", activation=None, **conv)
    return _merge(y, x, filters, strides, name, shortcut, batch_norm, use_bias)


def bottleneck_unit(x, filters, name, strides=1, expansion=4, shortcut="projection", batch_norm=True, use_bias=None):
    """Bottleneck unit: 1x1 conv (stride `strides`) - 3x3 conv - 1x1 conv to `expansion * filters`.

    The stride sits in the first 1x1 conv, as in the original ResNet and the lecture
    (torchvision's "V1.5" puts it in the 3x3). Output: `expansion * filters` channels.
    """
    conv = dict(batch_norm=batch_norm, use_bias=use_bias)
    y = conv_unit(x, filters, 1, name=f"{name}_a", strides=strides, **conv)
    y = conv_unit(y, filters, 3, name=f"{name}_b", **conv)
    y = conv_unit(y, expansion * filters, 1, name=f"{name}_c", activation=None, **conv)
    return _merge(y, x, expansion * filters, strides, name, shortcut, batch_norm, use_bias)
