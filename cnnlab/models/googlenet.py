"""GoogLeNet (Szegedy et al. 2015) and the lecture's single inception module."""

import keras
from keras import layers

from cnnlab.blocks import (
    LocalResponseNormalization,
    avg_pool,
    classifier,
    conv_unit,
    fc,
    inception_module,
    max_pool,
    naive_inception_module,
)

# The GoogLeNet table: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj; "pool" = max pool 3x3/2.
MODULES = (
    ("3a", (64, 96, 128, 16, 32, 32)),  # 28 x 28 x 256
    ("3b", (128, 128, 192, 32, 96, 64)),  # 28 x 28 x 480
    "pool",
    ("4a", (192, 96, 208, 16, 48, 64)),  # 14 x 14 x 512
    ("4b", (160, 112, 224, 24, 64, 64)),  # 14 x 14 x 512
    ("4c", (128, 128, 256, 24, 64, 64)),  # 14 x 14 x 512
    ("4d", (112, 144, 288, 32, 64, 64)),  # 14 x 14 x 528
    ("4e", (256, 160, 320, 32, 128, 128)),  # 14 x 14 x 832
    "pool",
    ("5a", (256, 160, 320, 32, 128, 128)),  # 7 x 7 x 832
    ("5b", (384, 192, 384, 48, 128, 128)),  # 7 x 7 x 1024
)
AUXILIARY_AFTER = ("4a", "4d")


def _auxiliary_classifier(x, name, num_classes):
    """avg pool 5x5/3 - conv 1x1 128 - fc 1024 - dropout 0.7 - fc - softmax (used in training only)."""
    x = avg_pool(x, 5, name=f"{name}_pool", strides=3)
    x = conv_unit(x, 128, 1, name=f"{name}_conv")
    x = fc(x, 1024, name=f"{name}_fc1", dropout=0.7)
    x = fc(x, num_classes, name=f"{name}_fc2", activation=None)
    return layers.Activation("softmax", dtype="float32", name=f"{name}_softmax")(x)


def googlenet(
    name,
    input_shape=(224, 224, 3),
    num_classes=1000,
    batch_norm=False,
    dropout=0.4,
    auxiliary_classifiers=False,
    lrn=True,
):
    """conv 7x7/2 - pool - norm - conv 1x1 - conv 3x3 - norm - pool - 9 inception modules - avg pool - fc.

    With `auxiliary_classifiers=True` the model has three outputs: [main, aux1, aux2], the
    auxiliary softmaxes after inception_4a and inception_4d (their losses weigh 0.3).
    """
    conv = dict(batch_norm=batch_norm)
    inputs = keras.Input(input_shape, name="input")
    x = conv_unit(inputs, 64, 7, name="conv1", strides=2, **conv)  # 112 x 112 x 64
    x = max_pool(x, 3, name="pool1", strides=2, padding="same")  # 56 x 56 x 64
    if lrn:
        x = LocalResponseNormalization(name="norm1")(x)
    x = conv_unit(x, 64, 1, name="conv2_reduce", **conv)
    x = conv_unit(x, 192, 3, name="conv2", **conv)  # 56 x 56 x 192
    if lrn:
        x = LocalResponseNormalization(name="norm2")(x)
    x = max_pool(x, 3, name="pool2", strides=2, padding="same")  # 28 x 28 x 192
    auxiliary, pools = [], 2
    for module in MODULES:
        if module == "pool":
            pools += 1
            x = max_pool(x, 3, name=f"pool{pools}", strides=2, padding="same")
            continue
        label, widths = module
        x = inception_module(x, f"inception_{label}", *widths, **conv)
        if auxiliary_classifiers and label in AUXILIARY_AFTER:
            auxiliary.append(_auxiliary_classifier(x, f"aux{len(auxiliary) + 1}", num_classes))
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)  # 1024
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = classifier(x, num_classes, name="fc")
    return keras.Model(inputs, [outputs, *auxiliary] if auxiliary else outputs, name=name)


def inception_5b(name, input_shape=(7, 7, 832), naive=False, widths=MODULES[-1][1]):
    """The lecture's inception module: GoogLeNet's inception(5b) on its 7x7x832 input.

    `naive=True` drops the 1x1 reductions (1x1, 3x3 and 5x5 convs and the pool, concatenated).
    `widths`: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
    """
    inputs = keras.Input(input_shape, name="input")
    if naive:
        ch1x1, _, ch3x3, _, ch5x5, _ = widths
        outputs = naive_inception_module(inputs, "inception_5b", ch1x1, ch3x3, ch5x5)
    else:
        outputs = inception_module(inputs, "inception_5b", *widths)
    return keras.Model(inputs, outputs, name=name)
