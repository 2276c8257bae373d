"""The lecture's first convolutional network, for MNIST and CIFAR-10."""

import keras

from cnnlab.blocks import classifier, conv_unit, fc, max_pool


def convnet(
    name,
    input_shape,
    num_classes=10,
    batch_norm=False,
    dropout=0.0,
    kernel_initializer="glorot_uniform",
    kernel_regularizer=None,
):
    """conv(5, 32) - pool(2) - conv(5, 64) - pool(2) - fc(100) - fc(10) - softmax, ReLU after each conv/fc.

    `kernel_initializer` and `kernel_regularizer` apply to every conv and fc layer (the lecture
    trains it with Gaussian init sigma 0.1 and L2 regularization 1e-2).
    """
    weights = dict(kernel_initializer=kernel_initializer, kernel_regularizer=kernel_regularizer)
    inputs = keras.Input(input_shape, name="input")
    x = conv_unit(inputs, 32, 5, name="conv1", padding="valid", batch_norm=batch_norm, **weights)
    x = max_pool(x, 2, name="pool1")
    x = conv_unit(x, 64, 5, name="conv2", padding="valid", batch_norm=batch_norm, **weights)
    x = max_pool(x, 2, name="pool2")
    x = fc(x, 100, name="fc1", dropout=dropout, **weights)
    outputs = classifier(x, num_classes, name="fc2", **weights)
    return keras.Model(inputs, outputs, name=name)
