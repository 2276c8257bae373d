"""Local response normalization across channels (AlexNet's "norm" layer)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="cnnlab")
class LocalResponseNormalization(keras.layers.Layer):
    """b_c = a_c / (k + alpha * sum_{c' in window(c)} a_c'^2) ** beta.

    The window holds `size` neighbouring channels centred on c (clipped at the edges).
    Defaults are AlexNet's: size 5, k 2, alpha 1e-4, beta 0.75 (Krizhevsky et al. 2012, 3.3).
    No weights; the lecture counts one operation per output element.
    """

    def __init__(self, size=5, k=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        if size < 1 or size % 2 == 0:
            raise ValueError(f"LocalResponseNormalization needs an odd window size >= 1. Received: size={size}")
        self.size, self.k, self.alpha, self.beta = size, k, alpha, beta

    def call(self, inputs):
        half = self.size // 2
        squares = ops.pad(ops.square(inputs), [[0, 0], [0, 0], [0, 0], [half, half]])
        channels = ops.shape(inputs)[-1]
        window_sum = sum(squares[..., i : i + channels] for i in range(self.size))
        return inputs / ops.power(self.k + self.alpha * window_sum, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "k": self.k, "alpha": self.alpha, "beta": self.beta}
