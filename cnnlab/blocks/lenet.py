"""LeNet-5's own pieces (LeCun et al. 1998): trainable subsampling, scaled tanh, RBF outputs."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="cnnlab")
class TrainableSubsampling(keras.layers.Layer):
    """Average pooling, then one learnable coefficient and bias per feature map (S2, S4).

    LeNet-5 sums a 2x2 window; averaging is the same up to the coefficient. Weights: 2 per map
    (S2: 12, S4: 32), although the lecture's table counts 0 for these layers.
    """

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pool_size
        self.strides = (pool_size, pool_size)
        self.padding = "valid"
        self._pool = keras.layers.AveragePooling2D(pool_size)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.coefficient = self.add_weight(name="coefficient", shape=(channels,), initializer="ones")
        self.bias = self.add_weight(name="bias", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        return self._pool(inputs) * self.coefficient + self.bias

    def compute_output_shape(self, input_shape):
        return self._pool.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


@keras.saving.register_keras_serializable(package="cnnlab")
class ScaledTanh(keras.layers.Layer):
    """f(a) = A tanh(S a) with A = 1.7159 and S = 2/3, so that f(1) = 1 and f(-1) = -1."""

    def __init__(self, amplitude=1.7159, slope=2.0 / 3.0, **kwargs):
        super().__init__(**kwargs)
        self.amplitude, self.slope = amplitude, slope

    def call(self, inputs):
        return self.amplitude * ops.tanh(self.slope * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "amplitude": self.amplitude, "slope": self.slope}


# 7x12 bitmaps of the ten digits, the "distributed codes" of LeNet-5's RBF units
# (drawn here in the spirit of the paper's Fig. 3; '#' is +1, '.' is -1).
DIGIT_BITMAPS = {
    0: [
        "..###..",
        ".#...#.",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        ".#...#.",
        "..###..",
    ],
    1: [
        "...#...",
        "..##...",
        ".#.#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        ".#####.",
    ],
    2: [
        ".#####.",
        "#.....#",
        "......#",
        "......#",
        ".....#.",
        "....#..",
        "...#...",
        "..#....",
        ".#.....",
        "#......",
        "#......",
        "#######",
    ],
    3: [
        ".#####.",
        "#.....#",
        "......#",
        "......#",
        "......#",
        "..####.",
        "......#",
        "......#",
        "......#",
        "......#",
        "#.....#",
        ".#####.",
    ],
    4: [
        ".....#.",
        "....##.",
        "...#.#.",
        "..#..#.",
        ".#...#.",
        "#....#.",
        "#######",
        ".....#.",
        ".....#.",
        ".....#.",
        ".....#.",
        ".....#.",
    ],
    5: [
        "#######",
        "#......",
        "#......",
        "#......",
        "######.",
        "......#",
        "......#",
        "......#",
        "......#",
        "......#",
        "#.....#",
        ".#####.",
    ],
    6: [
        "..####.",
        ".#.....",
        "#......",
        "#......",
        "#.####.",
        "##....#",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        ".#...#.",
        "..###..",
    ],
    7: [
        "#######",
        "......#",
        ".....#.",
        ".....#.",
        "....#..",
        "....#..",
        "...#...",
        "...#...",
        "..#....",
        "..#....",
        ".#.....",
        ".#.....",
    ],
    8: [
        "..###..",
        ".#...#.",
        "#.....#",
        "#.....#",
        ".#...#.",
        "..###..",
        ".#...#.",
        "#.....#",
        "#.....#",
        "#.....#",
        ".#...#.",
        "..###..",
    ],
    9: [
        "..###..",
        ".#...#.",
        "#.....#",
        "#.....#",
        "#.....#",
        ".#....#",
        "..#####",
        "......#",
        "......#",
        ".....#.",
        "....#..",
        ".###...",
    ],
}


def digit_codes():
    """The ten RBF centres as a (84, 10) array of +1/-1 (a 7x12 bitmap per digit, row-major)."""
    return np.array(
        [[1.0 if c == "#" else -1.0 for c in "".join(DIGIT_BITMAPS[d])] for d in range(10)], dtype="float32"
    ).T


@keras.saving.register_keras_serializable(package="cnnlab")
class RBFOutput(keras.layers.Layer):
    """Euclidean RBF units: score_k = -||x - c_k||^2 with fixed centres c_k (not trained).

    The score is minus LeNet-5's RBF output, so the closest code gets the largest score and a
    softmax on top gives the "softmax-like" loss of the lecture. Default centres: `digit_codes()`.
    """

    def __init__(self, units=10, codes=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.codes = None if codes is None else np.asarray(codes, dtype="float32").tolist()

    def build(self, input_shape):
        dim = input_shape[-1]
        codes = digit_codes() if self.codes is None else np.asarray(self.codes, dtype="float32")
        if codes.shape != (dim, self.units):
            raise ValueError(
                f"'{self.name}': RBF codes must have shape ({dim}, {self.units}) "
                f"for a {dim}-d input and {self.units} units. Received: codes.shape={codes.shape}"
            )
        self.centres = self.add_weight(
            name="centres", shape=codes.shape, trainable=False, initializer=keras.initializers.Constant(codes)
        )

    def call(self, inputs):
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, one matrix product for the whole batch
        x2 = ops.sum(ops.square(inputs), axis=-1, keepdims=True)
        c2 = ops.sum(ops.square(self.centres), axis=0, keepdims=True)
        return -(x2 - 2.0 * ops.matmul(inputs, self.centres) + c2)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "codes": self.codes}
