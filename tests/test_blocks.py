import keras
import numpy as np
import pytest

from cnnlab import blocks

pytestmark = pytest.mark.backends


def model_of(block, input_shape, **kwargs):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, block(inputs, **kwargs))


def run(model, seed=0):
    x = np.random.default_rng(seed).normal(size=(2, *model.input_shape[1:])).astype("float32")
    return keras.ops.convert_to_numpy(model(x))


def test_conv_unit_names_and_bias_follow_batch_norm():
    plain = model_of(blocks.conv_unit, (8, 8, 3), filters=4, kernel_size=3, name="c")
    with_bn = model_of(blocks.conv_unit, (8, 8, 3), filters=4, kernel_size=3, name="c", batch_norm=True)
    assert [layer.name for layer in with_bn.layers[1:]] == ["c", "c_bn", "c_relu"]
    assert plain.get_layer("c").use_bias and not with_bn.get_layer("c").use_bias
    assert plain.count_params() == 3 * 3 * 3 * 4 + 4


def test_lrn_matches_the_alexnet_formula():
    x = np.random.default_rng(1).uniform(0, 3, size=(1, 2, 2, 7)).astype("float32")
    out = keras.ops.convert_to_numpy(blocks.LocalResponseNormalization(size=5, k=2, alpha=1e-2, beta=0.75)(x))
    expected = np.empty_like(x)
    for c in range(7):
        window = x[..., max(0, c - 2) : c + 3]
        expected[..., c] = x[..., c] / (2 + 1e-2 * np.sum(window**2, axis=-1)) ** 0.75
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_lrn_rejects_even_window():
    with pytest.raises(ValueError, match="odd window size"):
        blocks.LocalResponseNormalization(size=4)


def test_scaled_tanh_maps_plus_minus_one_to_itself():
    out = keras.ops.convert_to_numpy(blocks.ScaledTanh()(np.array([-1.0, 0.0, 1.0], "float32")))
    np.testing.assert_allclose(out, [-1.0, 0.0, 1.0], atol=1e-4)


def test_trainable_subsampling_has_a_coefficient_and_bias_per_map():
    layer = blocks.TrainableSubsampling(2)
    x = np.arange(2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    out = keras.ops.convert_to_numpy(layer(x))
    assert out.shape == (2, 2, 2, 3) and layer.count_params() == 6
    layer.coefficient.assign(np.array([2.0, 1.0, 0.0], "float32"))
    layer.bias.assign(np.array([0.0, 1.0, 5.0], "float32"))
    out = keras.ops.convert_to_numpy(layer(x))
    mean = x.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(out, mean * [2.0, 1.0, 0.0] + [0.0, 1.0, 5.0], rtol=1e-6)


def test_rbf_scores_are_minus_squared_distances_to_fixed_digit_codes():
    codes = blocks.digit_codes()
    assert codes.shape == (84, 10) and set(np.unique(codes)) == {-1.0, 1.0}
    assert len({tuple(c) for c in codes.T}) == 10  # ten distinct codes
    layer = blocks.RBFOutput(10)
    x = np.random.default_rng(2).normal(size=(3, 84)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x))
    expected = -((x[:, :, None] - codes[None]) ** 2).sum(axis=1)
    np.testing.assert_allclose(out, expected, rtol=1e-4)
    assert layer.trainable_weights == [] and layer.count_params() == 840
    # an input equal to code 7 is closest to code 7
    assert np.argmax(keras.ops.convert_to_numpy(layer(codes[:, 7][None]))) == 7


def test_rbf_codes_must_fit_the_input():
    with pytest.raises(ValueError, match=r"codes must have shape \(84, 10\)"):
        blocks.RBFOutput(10, codes=np.ones((10, 10)))(np.ones((1, 84), "float32"))


def test_inception_module_widths_and_names():
    model = model_of(
        blocks.inception_module,
        (7, 7, 832),
        name="inception_5b",
        ch1x1=384,
        ch3x3red=192,
        ch3x3=384,
        ch5x5red=48,
        ch5x5=128,
        pool_proj=128,
    )
    assert model.output_shape == (None, 7, 7, 1024)
    assert {"inception_5b_3x3_reduce", "inception_5b_pool_proj", "inception_5b_concat"} <= {
        layer.name for layer in model.layers
    }
    naive = model_of(blocks.naive_inception_module, (7, 7, 832), name="m", ch1x1=384, ch3x3=384, ch5x5=128)
    assert naive.output_shape == (None, 7, 7, 384 + 384 + 128 + 832)  # the pool keeps all 832 maps


@pytest.mark.parametrize(
    "unit, filters, strides, out_channels",
    [(blocks.residual_unit, 8, 1, 8), (blocks.residual_unit, 16, 2, 16), (blocks.bottleneck_unit, 4, 2, 16)],
)
def test_residual_units_shapes_and_shortcuts(unit, filters, strides, out_channels):
    model = model_of(unit, (8, 8, 8), filters=filters, name="conv3_1", strides=strides)
    assert model.output_shape == (None, 8 // strides, 8 // strides, out_channels)
    names = {layer.name for layer in model.layers}
    projects = strides != 1 or out_channels != 8
    assert ("conv3_1_proj" in names) == projects and ("conv3_1_subsample" in names) == (strides == 2)
    assert model.get_layer("conv3_1_a").strides == (strides, strides)  # stride in the first conv
    run(model)


def test_identity_unit_adds_its_input():
    model = model_of(blocks.residual_unit, (4, 4, 3), filters=3, name="u", batch_norm=False)
    for layer in model.layers:
        for weight in layer.weights:
            weight.assign(np.zeros(weight.shape, "float32"))
    x = np.abs(np.random.default_rng(3).normal(size=(1, 4, 4, 3))).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), x)  # relu(x + 0) = x for x >= 0


def test_plain_and_zero_pad_units_have_no_shortcut_parameters():
    plain = model_of(blocks.residual_unit, (8, 8, 4), filters=8, name="u", strides=2, shortcut=None)
    option_a = model_of(blocks.residual_unit, (8, 8, 4), filters=8, name="u", strides=2, shortcut="zero_pad")
    assert plain.count_params() == option_a.count_params()
    assert "u_add" not in {layer.name for layer in plain.layers}
    assert option_a.output_shape == (None, 4, 4, 8)
    run(option_a)
    with pytest.raises(ValueError, match="shortcut must be one of"):
        model_of(blocks.residual_unit, (8, 8, 4), filters=8, name="u", shortcut="bogus")


def test_subsample_keeps_every_other_pixel():
    x = np.arange(25, dtype="float32").reshape(1, 5, 5, 1)
    out = keras.ops.convert_to_numpy(blocks.Subsample(2)(x))
    np.testing.assert_array_equal(out[0, :, :, 0], x[0, ::2, ::2, 0])


def test_dense_block_grows_by_k_and_transition_halves():
    def block_then_transition(x):
        x = blocks.dense_block(x, units=3, growth_rate=4, name="dense1")
        return blocks.transition(x, "transition1")

    inputs = keras.Input((8, 8, 6))
    grown = blocks.dense_block(inputs, units=3, growth_rate=4, name="dense1")
    assert grown.shape[-1] == 6 + 3 * 4
    model = keras.Model(inputs, block_then_transition(inputs))
    assert model.output_shape == (None, 4, 4, 9)
    assert model.get_layer("dense1_unit2_conv1").filters == 16  # bottleneck: 4k maps
    run(model)


def test_unet_steps_crop_and_merge():
    inputs = keras.Input((68, 68, 1))
    skip, x = blocks.encoder_step(inputs, 4, "enc1")
    assert skip.shape[1:] == (64, 64, 4) and x.shape[1:] == (32, 32, 4)
    x = blocks.double_conv(x, 8, "bridge")
    out = blocks.decoder_step(x, skip, 4, "dec1")
    model = keras.Model(inputs, out)
    assert model.get_layer("dec1_crop").output.shape[1:3] == (56, 56)
    assert model.output_shape == (None, 52, 52, 4)
    run(model)


def test_too_small_input_names_the_layer():
    with pytest.raises(blocks.InputTooSmallError, match=r"'p' \(max pool 3x3, stride 2.*gets a 2x2x1"):
        blocks.max_pool(keras.Input((2, 2, 1)), 3, name="p", strides=2)
