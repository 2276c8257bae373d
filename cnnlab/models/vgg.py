"""VGG configurations A-E (Simonyan and Zisserman 2014), written as the slide's table."""

import keras

from cnnlab.blocks import LocalResponseNormalization, classifier, conv_unit, fc, max_pool

# One string per block, as in the slide's columns; every block ends with a 2x2 max pool.
CONFIGS = {
    "A": ("conv3-64", "conv3-128", "conv3-256 conv3-256", "conv3-512 conv3-512", "conv3-512 conv3-512"),
    "A-LRN": ("conv3-64 LRN", "conv3-128", "conv3-256 conv3-256", "conv3-512 conv3-512", "conv3-512 conv3-512"),
    "B": (
        "conv3-64 conv3-64",
        "conv3-128 conv3-128",
        "conv3-256 conv3-256",
        "conv3-512 conv3-512",
        "conv3-512 conv3-512",
    ),
    "C": (
        "conv3-64 conv3-64",
        "conv3-128 conv3-128",
        "conv3-256 conv3-256 conv1-256",
        "conv3-512 conv3-512 conv1-512",
        "conv3-512 conv3-512 conv1-512",
    ),
    "D": (
        "conv3-64 conv3-64",
        "conv3-128 conv3-128",
        "conv3-256 conv3-256 conv3-256",
        "conv3-512 conv3-512 conv3-512",
        "conv3-512 conv3-512 conv3-512",
    ),
    "E": (
        "conv3-64 conv3-64",
        "conv3-128 conv3-128",
        "conv3-256 conv3-256 conv3-256 conv3-256",
        "conv3-512 conv3-512 conv3-512 conv3-512",
        "conv3-512 conv3-512 conv3-512 conv3-512",
    ),
}


def vgg(name, config, input_shape=(224, 224, 3), num_classes=1000, batch_norm=False, dropout=0.5):
    """VGG: blocks of conv3-N (3x3, pad 1), conv1-N (1x1) or LRN, each block then pool(2); fc(4096) x2, fc(1000).

    Layers: `block{b}_conv{i}`, `block{b}_lrn`, `block{b}_pool`, `fc6`, `fc7`, `fc8`, `softmax`.
    """
    inputs = keras.Input(input_shape, name="input")
    x = inputs
    for b, block in enumerate(CONFIGS[config], start=1):
        convs = 0
        for layer in block.split():
            if layer == "LRN":
                x = LocalResponseNormalization(name=f"block{b}_lrn")(x)
                continue
            kernel, filters = layer.removeprefix("conv").split("-")
            convs += 1
            x = conv_unit(x, int(filters), int(kernel), name=f"block{b}_conv{convs}", batch_norm=batch_norm)
        x = max_pool(x, 2, name=f"block{b}_pool")
    x = fc(x, 4096, name="fc6", dropout=dropout)
    x = fc(x, 4096, name="fc7", dropout=dropout)
    outputs = classifier(x, num_classes, name="fc8")
    return keras.Model(inputs, outputs, name=name)
