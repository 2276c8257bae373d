"""U-Net steps (Ronneberger et al. 2015): two 3x3 convs, then pool (encoder) or up-conv and merge (decoder).

Layers, for step `name` (e.g. "enc2", "dec2"): `name_conv1`, `name_conv2`, `name_pool` (encoder);
`name_up` (2x2 up-conv), `name_crop` (valid padding only), `name_concat` (decoder).
"""

from keras import layers

from cnnlab.blocks.conv import conv_unit, max_pool
from cnnlab.blocks.shapes import call_checked


def double_conv(x, filters, name, padding="valid", batch_norm=False, dropout=0.0):
    """conv(3, filters) - ReLU - conv(3, filters) - ReLU (the paper's convs are unpadded)."""
    x = conv_unit(x, filters, 3, name=f"{name}_conv1", padding=padding, batch_norm=batch_norm)
    x = conv_unit(x, filters, 3, name=f"{name}_conv2", padding=padding, batch_norm=batch_norm)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def encoder_step(x, filters, name, padding="valid", batch_norm=False):
    """Returns (features for the skip connection, 2x2 max-pooled features for the next step)."""
    skip = double_conv(x, filters, name, padding, batch_norm)
    return skip, max_pool(skip, 2, name=f"{name}_pool")


def decoder_step(x, skip, filters, name, padding="valid", batch_norm=False):
    """2x2 up-conv to `filters` maps, centre-crop the skip features to match, concatenate, double conv."""
    x = call_checked(layers.Conv2DTranspose(filters, 2, strides=2, name=f"{name}_up"), x)
    extra_h, extra_w = skip.shape[1] - x.shape[1], skip.shape[2] - x.shape[2]
    if extra_h < 0 or extra_w < 0 or extra_h % 2 or extra_w % 2:
        raise ValueError(
            f"'{name}_up' gives {x.shape[1]}x{x.shape[2]} maps but the skip connection has "
            f"{skip.shape[1]}x{skip.shape[2]}: each encoder step must pool an even-sized map. "
            "Use an input size such as 572 (valid padding) or a multiple of 16 (same padding)."
        )
    if extra_h or extra_w:
        crop = ((extra_h // 2, extra_h // 2), (extra_w // 2, extra_w // 2))
        skip = layers.Cropping2D(crop, name=f"{name}_crop")(skip)
    x = layers.Concatenate(name=f"{name}_concat")([skip, x])
    return double_conv(x, filters, name, padding, batch_norm)
