"""DenseNet-BC (Huang et al. 2017): ImageNet DenseNet-121/169/201/161 and a small CIFAR DenseNet-BC."""

import keras
from keras import layers

from cnnlab.blocks import classifier, conv_unit, dense_block, max_pool, transition


def _dense_blocks(x, blocks, growth_rate, compression, dropout):
    """dense1, transition1, dense2, ..., dense{n} (no transition after the last block)."""
    for b, units in enumerate(blocks, start=1):
        x = dense_block(x, units, growth_rate, f"dense{b}", dropout=dropout)
        if b < len(blocks):
            x = transition(x, f"transition{b}", compression)
    x = layers.BatchNormalization(epsilon=1.001e-5, name="bn")(x)
    return layers.ReLU(name="relu")(x)


def densenet(name, blocks, growth_rate, input_shape=(224, 224, 3), num_classes=1000, compression=0.5, dropout=0.0):
    """conv 7x7/2 (2k maps) - max pool 3x3/2 - 4 dense blocks with transitions - BN-ReLU - avg pool - fc.

    `blocks`: units per dense block, e.g. (6, 12, 24, 16) for DenseNet-121; `growth_rate`: k.
    """
    inputs = keras.Input(input_shape, name="input")
    x = conv_unit(inputs, 2 * growth_rate, 7, name="conv1", strides=2, batch_norm=True)
    x = max_pool(x, 3, name="pool1", strides=2, padding="same")
    x = _dense_blocks(x, blocks, growth_rate, compression, dropout)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = classifier(x, num_classes, name="fc")
    return keras.Model(inputs, outputs, name=name)


def cifar_densenet(
    name, depth=40, growth_rate=12, input_shape=(32, 32, 3), num_classes=10, compression=0.5, dropout=0.0
):
    """DenseNet-BC for CIFAR: conv 3x3 (2k maps) - 3 dense blocks of (depth - 4) / 6 units - avg pool - fc.

    The default depth 40, k = 12 (about 0.19M parameters) trains on a laptop CPU.
    """
    if (depth - 4) % 6:
        raise ValueError(f"{name}: DenseNet-BC depth must be 6n + 4 (e.g. 40, 100). Received: depth={depth}")
    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(2 * growth_rate, 3, padding="same", use_bias=False, name="conv1")(inputs)
    x = _dense_blocks(x, [(depth - 4) // 6] * 3, growth_rate, compression, dropout)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = classifier(x, num_classes, name="fc")
    return keras.Model(inputs, outputs, name=name)
