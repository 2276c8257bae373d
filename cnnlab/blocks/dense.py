"""DenseNet-BC pieces (Huang et al. 2017): dense unit, dense block, transition layer.

Layers, for unit `name` (e.g. "dense3_unit12"): `name_bn1`, `name_relu1`, `name_conv1` (1x1),
`name_bn2`, `name_relu2`, `name_conv2` (3x3), `name_concat`. Transition `name`: `name_bn`,
`name_relu`, `name_conv`, `name_pool`.
"""

from keras import layers

from cnnlab.blocks.conv import avg_pool


def _bn_relu_conv(x, filters, kernel_size, name, suffix="", dropout=0.0):
    x = layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_bn{suffix}")(x)
    x = layers.ReLU(name=f"{name}_relu{suffix}")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name=f"{name}_conv{suffix}")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout{suffix}")(x)
    return x


def dense_unit(x, growth_rate, name, bottleneck_width=4, dropout=0.0):
    """BN-ReLU-1x1 conv (bottleneck_width * k maps)-BN-ReLU-3x3 conv (k maps), concatenated to x."""
    y = _bn_relu_conv(x, bottleneck_width * growth_rate, 1, name, "1", dropout)
    y = _bn_relu_conv(y, growth_rate, 3, name, "2", dropout)
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def dense_block(x, units, growth_rate, name, dropout=0.0):
    """A chain of `units` dense units named `name_unit1`..: channels grow by `growth_rate` each."""
    for i in range(1, units + 1):
        x = dense_unit(x, growth_rate, f"{name}_unit{i}", dropout=dropout)
    return x


def transition(x, name, compression=0.5):
    """BN-ReLU-1x1 conv to floor(compression * channels) maps, then 2x2 average pool, stride 2."""
    x = _bn_relu_conv(x, int(x.shape[-1] * compression), 1, name)
    return avg_pool(x, 2, name=f"{name}_pool", strides=2)
