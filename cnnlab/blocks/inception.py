"""Inception modules (Szegedy et al. 2015), naive and with 1x1 dimension reduction.

Arguments follow the GoogLeNet table: `inception_module(x, "inception_5b", 384, 192, 384, 48, 128, 128)`.
Layers: `name_1x1`, `name_3x3_reduce`, `name_3x3`, `name_5x5_reduce`, `name_5x5`, `name_pool`,
`name_pool_proj`, `name_concat` (the Caffe GoogLeNet's names, with "_" for "/").
"""

from keras import layers

from cnnlab.blocks.conv import conv_unit, max_pool


def naive_inception_module(x, name, ch1x1, ch3x3, ch5x5, batch_norm=False):
    """1x1, 3x3 and 5x5 convs and a 3x3/1 max pool side by side, concatenated (channels grow)."""
    conv = dict(batch_norm=batch_norm)
    branches = [
        conv_unit(x, ch1x1, 1, name=f"{name}_1x1", **conv),
        conv_unit(x, ch3x3, 3, name=f"{name}_3x3", **conv),
        conv_unit(x, ch5x5, 5, name=f"{name}_5x5", **conv),
        max_pool(x, 3, name=f"{name}_pool", strides=1, padding="same"),
    ]
    return layers.Concatenate(name=f"{name}_concat")(branches)


def inception_module(x, name, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, batch_norm=False):
    """Inception module with dimension reduction: 1x1 convs before the 3x3 and 5x5, after the pool."""
    conv = dict(batch_norm=batch_norm)
    branch1 = conv_unit(x, ch1x1, 1, name=f"{name}_1x1", **conv)
    branch2 = conv_unit(x, ch3x3red, 1, name=f"{name}_3x3_reduce", **conv)
    branch2 = conv_unit(branch2, ch3x3, 3, name=f"{name}_3x3", **conv)
    branch3 = conv_unit(x, ch5x5red, 1, name=f"{name}_5x5_reduce", **conv)
    branch3 = conv_unit(branch3, ch5x5, 5, name=f"{name}_5x5", **conv)
    branch4 = max_pool(x, 3, name=f"{name}_pool", strides=1, padding="same")
    branch4 = conv_unit(branch4, pool_proj, 1, name=f"{name}_pool_proj", **conv)
    return layers.Concatenate(name=f"{name}_concat")([branch1, branch2, branch3, branch4])
