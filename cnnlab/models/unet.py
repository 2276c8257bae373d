"""U-Net (Ronneberger et al. 2015): a segmentation network with skip connections."""

import keras
from keras import layers

from cnnlab.blocks import conv_unit, decoder_step, double_conv, encoder_step


def unet(
    name,
    input_shape=(572, 572, 1),
    num_classes=2,
    base_filters=64,
    depth=4,
    padding="valid",
    batch_norm=False,
    dropout=0.0,
):
    """`depth` encoder steps (enc1..), a bridge, `depth` decoder steps (dec{depth}..dec1), a 1x1 conv head.

    Maps double at each step from `base_filters`. The paper's convs are unpadded (572 in, 388 out);
    `padding="same"` keeps the input size (any multiple of 2**depth), e.g. for the 512x512
    membrane slices. Output: per-pixel softmax over `num_classes` (sigmoid if `num_classes=1`).
    """
    step = dict(padding=padding, batch_norm=batch_norm)
    inputs = keras.Input(input_shape, name="input")
    x, skips = inputs, []
    for level in range(1, depth + 1):
        skip, x = encoder_step(x, base_filters * 2 ** (level - 1), f"enc{level}", **step)
        skips.append(skip)
    x = double_conv(x, base_filters * 2**depth, "bridge", dropout=dropout, **step)
    for level in range(depth, 0, -1):
        x = decoder_step(x, skips[level - 1], base_filters * 2 ** (level - 1), f"dec{level}", **step)
    activation = "sigmoid" if num_classes == 1 else "softmax"
    x = conv_unit(x, num_classes, 1, name="head", activation=None)
    outputs = layers.Activation(activation, dtype="float32", name=activation)(x)
    return keras.Model(inputs, outputs, name=name)
