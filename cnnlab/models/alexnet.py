"""AlexNet as CaffeNet (Krizhevsky et al. 2012; the lecture's table)."""

import keras

from cnnlab.blocks import LocalResponseNormalization, classifier, conv_unit, fc, max_pool


def alexnet(name, input_shape=(227, 227, 3), num_classes=1000, groups=1, batch_norm=False, dropout=0.5, lrn=True):
    """conv(11, 96, s4) - pool(3, 2) - norm - conv(5, 256, p2) - pool(3, 2) - norm - conv(3, 384, p1)
    - conv(3, 384, p1) - conv(3, 256, p1) - pool(3, 2) - fc(4096) - fc(4096) - fc(1000) - softmax.

    CaffeNet: 227x227 input, pooling before normalization. `groups=2` gives the original
    two-tower network: conv2, conv4 and conv5 only see their own tower's half of the maps
    (conv3 and the fc layers connect both towers).
    """
    conv = dict(batch_norm=batch_norm)
    inputs = keras.Input(input_shape, name="input")
    x = conv_unit(inputs, 96, 11, name="conv1", strides=4, padding="valid", **conv)
    x = max_pool(x, 3, name="pool1", strides=2)
    if lrn:
        x = LocalResponseNormalization(name="norm1")(x)
    x = conv_unit(x, 256, 5, name="conv2", groups=groups, **conv)
    x = max_pool(x, 3, name="pool2", strides=2)
    if lrn:
        x = LocalResponseNormalization(name="norm2")(x)
    x = conv_unit(x, 384, 3, name="conv3", **conv)
    x = conv_unit(x, 384, 3, name="conv4", groups=groups, **conv)
    x = conv_unit(x, 256, 3, name="conv5", groups=groups, **conv)
    x = max_pool(x, 3, name="pool5", strides=2)
    x = fc(x, 4096, name="fc6", dropout=dropout)
    x = fc(x, 4096, name="fc7", dropout=dropout)
    outputs = classifier(x, num_classes, name="fc8")
    return keras.Model(inputs, outputs, name=name)
