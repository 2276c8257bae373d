"""How much each layer costs, under three counting conventions.

- "deck": the lecture's tables (docs/CONVENTIONS.md): every conv and fc counted
  with a bias and BN ignored (a conv followed by BN is a conv with bias once BN is folded in);
  groups ignored; "ops" = one multiply-accumulate per weight per output position, plus one for the
  bias; pooling costs its input volume, LRN and softmax their output volume, the skip
  connection's subsampling its output volume; ReLU, BN, adds and concatenations are free.
  LeNet's trainable subsampling counts 0 parameters and RBF(10) counts as fc(10), as printed.
- "macs": multiply-adds of conv and fc layers only (the ResNet "FLOPs" row); parameters are the
  trainable ones (what torchvision counts: conv and fc weights and biases, BN scale and shift).
- "keras": Keras' own parameter count (trainable and non-trainable) with multiply-adds as ops.
"""

import math

import keras

from cnnlab.blocks import LocalResponseNormalization, RBFOutput, Subsample, TrainableSubsampling

CONVENTIONS = ("deck", "macs", "keras")


class UnsupportedLayerError(ValueError):
    """A layer with weights that the profiler does not know how to count."""


def _square(value):
    """3 for (3, 3), "3x5" for (3, 5): sizes as the slides write them."""
    return value[0] if value[0] == value[1] else f"{value[0]}x{value[1]}"


def _is_softmax(layer):
    if isinstance(layer, keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    return isinstance(layer, keras.layers.Activation) and getattr(activation, "__name__", "") == "softmax"


def _fused_softmax(layer):
    return (
        not isinstance(layer, keras.layers.Activation)
        and getattr(getattr(layer, "activation", None), "__name__", "") == "softmax"
    )


def _trainable(layer):
    return sum(math.prod(w.shape) for w in layer.trainable_weights)


def _all_weights(layer):
    return sum(math.prod(w.shape) for w in layer.weights)


def _conv_label(layer):
    k, s = layer.kernel_size, layer.strides
    parts = [str(_square(k)), str(layer.filters)]
    if s[0] > 1:
        parts.append(f"s{_square(s)}")
    if layer.padding == "same" and k[0] > 1:
        parts.append(f"p{(k[0] - 1) // 2}")
    if getattr(layer, "groups", 1) > 1:
        parts.append(f"g{layer.groups}")
    return f"conv({', '.join(parts)})"


def _pool_label(layer, prefix):
    k, s = layer.pool_size, layer.strides
    return f"{prefix}({_square(k)})" if tuple(k) == tuple(s) else f"{prefix}({_square(k)}, {s[0]})"


def count_layer(layer, in_shape, out_shape, convention="deck", softmax_ops=True):
    """(kind, label, params, ops) of one layer; kind None means "not a row of the tables".

    `in_shape` and `out_shape` exclude the batch dimension (for several inputs, the first one's).
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {', '.join(CONVENTIONS)}. Received: convention={convention!r}")
    deck = convention == "deck"
    real_params = _trainable(layer) if convention == "macs" else _all_weights(layer)
    volume = math.prod(out_shape)
    softmax_cost = volume if softmax_ops else 0

    if isinstance(layer, keras.layers.InputLayer):
        label = (
            f"input({out_shape[0]}, {out_shape[-1]})"
            if len(out_shape) == 3 and out_shape[0] == out_shape[1]
            else "input"
        )
        return "input", label, 0, 0
    if isinstance(layer, keras.layers.Conv2DTranspose):
        (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
        c_in, c_out = in_shape[-1], layer.filters
        label = f"upconv({_square(layer.kernel_size)}, {c_out})"
        if deck:
            return "conv", label, kh * kw * c_in * c_out + c_out, volume * (kh * kw * c_in // (sh * sw) + 1)
        return "conv", label, real_params, math.prod(in_shape[:-1]) * kh * kw * c_in * c_out
    if isinstance(layer, keras.layers.Conv2D):
        (kh, kw), c_in = layer.kernel_size, in_shape[-1]
        label = _conv_label(layer)
        extra = softmax_cost if deck and _fused_softmax(layer) else 0
        if deck:
            return "conv", label, kh * kw * c_in * layer.filters + layer.filters, volume * (kh * kw * c_in + 1) + extra
        return "conv", label, real_params, volume * kh * kw * c_in // layer.groups
    if isinstance(layer, keras.layers.Dense):
        n_in, n = in_shape[-1], layer.units
        positions = math.prod(in_shape[:-1])
        label = f"fc({n})" + ("+softmax" if _fused_softmax(layer) else "")
        if deck:
            extra = softmax_cost if _fused_softmax(layer) else 0
            return "fc", label, n_in * n + n, positions * (n_in * n + n) + extra
        return "fc", label, real_params, positions * n_in * n
    if isinstance(layer, RBFOutput):
        n_in, n = in_shape[-1], layer.units
        if deck:
            return "fc", f"RBF({n})", n_in * n + n, n_in * n + n
        return "fc", f"RBF({n})", real_params, n_in * n
    if isinstance(layer, TrainableSubsampling):
        return "pool", _pool_label(layer._pool, "avg"), 0 if deck else real_params, math.prod(in_shape) if deck else 0
    if isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
        prefix = "pool" if isinstance(layer, keras.layers.MaxPooling2D) else "avg"
        return "pool", _pool_label(layer, prefix), 0, math.prod(in_shape) if deck else 0
    if isinstance(layer, (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)):
        label = "global avg pool" if isinstance(layer, keras.layers.GlobalAveragePooling2D) else "global max pool"
        return "pool", label, 0, math.prod(in_shape) if deck else 0
    if isinstance(layer, LocalResponseNormalization):
        return "norm", "norm", 0, volume if deck else 0
    if isinstance(layer, Subsample):
        return "subsample", f"subsample({layer.stride})", 0, volume if deck else 0
    if _is_softmax(layer):
        return "softmax", "softmax", 0, softmax_cost if deck else 0
    if layer.trainable_weights and not isinstance(layer, keras.layers.BatchNormalization):
        raise UnsupportedLayerError(
            f"'{layer.name}' ({type(layer).__name__}) has weights but cnnlab.profile cannot count it. Supported "
            "layers with weights: Conv2D, Conv2DTranspose, Dense, BatchNormalization, cnnlab's RBFOutput and "
            "TrainableSubsampling."
        )
    # BN, activations, adds, concatenations, dropout, reshapes: no row of their own
    return None, type(layer).__name__, 0 if deck else real_params, 0
