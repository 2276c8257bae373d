"""LeNet-5 (LeCun et al. 1998)."""

import keras

from cnnlab.blocks import RBFOutput, ScaledTanh, TrainableSubsampling, call_checked, conv_unit, fc


def lenet5(name, input_shape=(32, 32, 1), num_classes=10):
    """input(32, 1) - conv(5, 6) - avg(2) - conv(5, 16) - avg(2) - conv(5, 120) - fc(84) - RBF(10) - softmax.

    Subsampling is trainable (a coefficient and a bias per map), scaled tanh follows each
    subsampling, C5 and F6, and the RBF outputs compare F6 to fixed 7x12 digit codes.
    C3 is fully connected to S2 (the lecture's count), not the paper's sparse table.
    """
    inputs = keras.Input(input_shape, name="input")
    x = conv_unit(inputs, 6, 5, name="c1", padding="valid", activation=None)
    x = call_checked(TrainableSubsampling(2, name="s2"), x)
    x = ScaledTanh(name="s2_tanh")(x)
    x = conv_unit(x, 16, 5, name="c3", padding="valid", activation=None)
    x = call_checked(TrainableSubsampling(2, name="s4"), x)
    x = ScaledTanh(name="s4_tanh")(x)
    x = conv_unit(x, 120, 5, name="c5", padding="valid", activation=None)
    x = ScaledTanh(name="c5_tanh")(x)
    x = fc(x, 84, name="f6", activation=None)
    x = ScaledTanh(name="f6_tanh")(x)
    # float32 even under mixed precision: ||x||^2 - 2 x.c + ||c||^2 cancels, and bfloat16 resolves only
    # 1 in 256 of scores that reach several hundred
    x = RBFOutput(num_classes, dtype="float32", name="rbf")(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=name)
