"""ResNets (He et al. 2016): ImageNet ResNet-18..152, their plain counterparts, CIFAR ResNet-20/56."""

import keras
from keras import layers

from cnnlab.blocks import bottleneck_unit, classifier, conv_unit, max_pool, residual_unit

UNITS = {"basic": residual_unit, "bottleneck": bottleneck_unit}


def _stages(x, unit, stages, widths, shortcut, batch_norm, use_bias, first_stage=2):
    """Stage s (conv{s}_x) repeats `unit`; its first unit downsamples (stride 2), except in the first stage."""
    for s, (units, filters) in enumerate(zip(stages, widths, strict=False)):
        for u in range(1, units + 1):
            strides = 2 if s > 0 and u == 1 else 1
            x = UNITS[unit](
                x,
                filters,
                f"conv{first_stage + s}_{u}",
                strides=strides,
                shortcut=shortcut,
                batch_norm=batch_norm,
                use_bias=use_bias,
            )
    return x


def _head(x, dropout):
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return layers.Dropout(dropout, name="dropout")(x) if dropout else x


def resnet(
    name,
    unit,
    stages,
    input_shape=(224, 224, 3),
    num_classes=1000,
    batch_norm=True,
    dropout=0.0,
    shortcut="projection",
    use_bias=None,
):
    """conv1 7x7/2 64 - max pool 3x3/2 - conv2_x .. conv5_x (64, 128, 256, 512 maps) - avg pool - fc - softmax.

    `unit`: "basic" (two 3x3 convs) or "bottleneck" (1x1-3x3-1x1, stride in the first 1x1).
    `shortcut=None` gives the plain network. `use_bias=True` with BN is Keras' own ResNet50.
    `dropout` (none in the paper) applies before the fc layer.
    """
    conv = dict(batch_norm=batch_norm, use_bias=use_bias)
    inputs = keras.Input(input_shape, name="input")
    x = conv_unit(inputs, 64, 7, name="conv1", strides=2, **conv)  # 112 x 112 x 64
    x = max_pool(x, 3, name="pool1", strides=2, padding="same")  # 56 x 56 x 64
    x = _stages(x, unit, stages, (64, 128, 256, 512), shortcut, **conv)
    x = _head(x, dropout)
    outputs = classifier(x, num_classes, name="fc")
    return keras.Model(inputs, outputs, name=name)


def cifar_resnet(
    name, stages, input_shape=(32, 32, 3), num_classes=10, batch_norm=True, dropout=0.0, shortcut="zero_pad"
):
    """He et al.'s CIFAR-10 ResNet (6n+2 layers): conv 3x3 16 - 3 stages of n basic units (16, 32, 64 maps)
    - global avg pool - fc(10). Shortcuts are option A (zero-padding, no parameters), so a residual
    network and its plain counterpart (`shortcut=None`) have exactly the same parameters.
    """
    inputs = keras.Input(input_shape, name="input")
    x = conv_unit(inputs, 16, 3, name="conv1", batch_norm=batch_norm)
    x = _stages(x, "basic", stages, (16, 32, 64), shortcut, batch_norm, use_bias=None)
    x = _head(x, dropout)
    outputs = classifier(x, num_classes, name="fc")
    return keras.Model(inputs, outputs, name=name)
