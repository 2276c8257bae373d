"""Seeded weights: the same weights for two networks that compute the same function, however they were written.

A lab's test gives the student's network and cnnlab's each weight drawn from a generator seeded by the weight's
kind and shape, never by the order or the names of the layers, and compares their outputs. Nested models,
separate activation layers, loops or a different layer order within a block then give the same output; another
function (average instead of max pooling, a missing ReLU, the concatenation reversed) gives another.
"""

import zlib

import numpy as np


def _fan_in(shape):
    return int(np.prod(shape[:-1])) if len(shape) > 1 else 1


# Batch normalization's draws keep its epsilon out of the comparison: variances of 25 to 100 make the
# difference between Keras' 1e-3 and cnnlab's 1.001e-5 change an output by less than 1e-4.
_DRAWS = {
    "kernel": lambda rng, shape: rng.normal(0, np.sqrt(2 / _fan_in(shape)), shape),
    "bias": lambda rng, shape: rng.normal(0, 0.1, shape),
    "gamma": lambda rng, shape: rng.uniform(2, 6, shape),
    "beta": lambda rng, shape: rng.normal(0, 0.5, shape),
    "moving_mean": lambda rng, shape: rng.normal(0, 0.5, shape),
    "moving_variance": lambda rng, shape: rng.uniform(25, 100, shape),
}


def _other(rng, shape):
    return rng.normal(0, np.sqrt(1 / _fan_in(shape)), shape)


def with_seeded_weights(model):
    """`model`, every weight replaced by a draw seeded by its kind (its name: kernel, bias, gamma, ...) and its shape.

    Kernels are He-scaled normals, biases small normals, batch normalization's four weights as above, any other
    trainable weight (LeNet-5's subsampling coefficients) a normal scaled by its fan-in. Non-trainable weights of
    other kinds are constants of the layer (LeNet-5's RBF codes) and stay as built.
    """
    for weight in model.weights:
        kind, shape = weight.name, tuple(weight.shape)  # Keras 3: the name is the last part of the path
        if kind not in _DRAWS and not weight.trainable:
            continue
        rng = np.random.default_rng([*shape, zlib.crc32(kind.encode())])
        weight.assign(_DRAWS.get(kind, _other)(rng, shape).astype(weight.dtype))
    return model
