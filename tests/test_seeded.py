import keras
import numpy as np
from keras import layers

from cnnlab.models import build
from cnnlab.seeded import with_seeded_weights


def _output(model, x):
    return keras.ops.convert_to_numpy(with_seeded_weights(model)(x, training=False))


def _unit(nested, pool="max"):
    """conv-BN-ReLU-pool on 8 x 8 x 3, written flat or as nested models with a separate ReLU layer."""
    pooling = layers.MaxPooling2D(2) if pool == "max" else layers.AveragePooling2D(2)
    inputs = keras.Input((8, 8, 3))
    if nested:
        body = keras.Sequential([layers.Conv2D(4, 3, padding="same", name="a"), layers.BatchNormalization()])
        x = layers.ReLU()(body(inputs))
    else:
        x = layers.Conv2D(4, 3, padding="same", name="other_name")(inputs)
        x = layers.Activation("relu")(layers.BatchNormalization(epsilon=1e-5)(x))
    return keras.Model(inputs, pooling(x))


def test_two_networks_computing_the_same_function_agree_however_written():
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(_output(_unit(nested=True), x), _output(_unit(nested=False), x), rtol=1e-3, atol=1e-4)


def test_another_function_gives_another_output():
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    assert not np.allclose(_output(_unit(nested=False), x), _output(_unit(nested=False, pool="avg"), x), atol=1e-2)


def test_draws_are_repeatable_and_the_layers_constants_stay():
    first, second = with_seeded_weights(build("lenet5")), with_seeded_weights(build("lenet5"))
    for a, b in zip(first.weights, second.weights, strict=False):
        np.testing.assert_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), err_msg=a.path)
    built = build("lenet5")
    codes = [w for w in built.weights if w.name == "centres"]
    assert codes, "LeNet-5's RBF layer keeps its codes in a weight named 'centres'"
    before = keras.ops.convert_to_numpy(codes[0])
    with_seeded_weights(built)
    np.testing.assert_equal(keras.ops.convert_to_numpy(codes[0]), before)
