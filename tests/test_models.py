import keras
import numpy as np
import pytest

from cnnlab import models
from cnnlab.blocks import InputTooSmallError
from cnnlab.profile import profile

# Small inputs so that every network runs a forward pass in seconds on a CPU.
SMALL_INPUT = {
    "convnet-mnist": (28, 28, 1),
    "lenet5": (32, 32, 1),
    "alexnet": (67, 67, 3),
    "inception-5b": None,
    "inception-5b-naive": None,
}
TEN_CLASSES = [n for n in models.names() if not n.startswith(("inception-5b", "unet"))]
# The deeper DenseNets are densenet121's builder and blocks with more units: the TensorFlow pass runs them all, the
# JAX and PyTorch passes (`-m backends`, where building a DenseNet alone takes half a minute) run densenet121.
SAME_CODE_AS_DENSENET121 = ("densenet161", "densenet169", "densenet201")


def small_build(name):
    shape = SMALL_INPUT.get(name, (32, 32, 3))
    options = {} if shape is None else {"input_shape": shape, "num_classes": 10}
    return models.build(name, **options)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=() if name in SAME_CODE_AS_DENSENET121 else pytest.mark.backends)
        for name in TEN_CLASSES + ["inception-5b", "inception-5b-naive"]
    ],
)
def test_every_network_builds_and_runs_a_forward_pass(name):
    model = small_build(name)
    x = np.random.default_rng(0).uniform(size=(2, *model.input_shape[1:])).astype("float32")
    # JAX runs an eager call op by op (a DenseNet's took 4 times as long as one compiled call); the others eagerly
    if keras.backend.backend() == "jax":
        y = model.predict_on_batch(x)
    else:
        y = keras.ops.convert_to_numpy(model(x, training=False))
    assert np.all(np.isfinite(y))
    if name in TEN_CLASSES:
        assert y.shape == (2, 10)
        np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-4)  # softmax output


@pytest.mark.backends
def test_unet_valid_and_same_padding():
    # the paper's 572 -> 388 (the geometry does not depend on the widths: 4 filters build in a fraction of the time)
    assert models.build("unet", base_filters=4).output_shape == (None, 388, 388, 2)
    model = models.build("unet", input_shape=(64, 64, 1), padding="same", base_filters=4, num_classes=1)
    y = keras.ops.convert_to_numpy(model(np.zeros((1, 64, 64, 1), "float32")))
    assert y.shape == (1, 64, 64, 1) and np.all((y >= 0) & (y <= 1))


def test_unet_explains_bad_sizes():
    with pytest.raises(ValueError, match="even-sized map.*572"):
        models.build("unet", input_shape=(570, 570, 1))


@pytest.mark.backends
def test_googlenet_auxiliary_classifiers():
    model = models.build("googlenet", input_shape=(96, 96, 3), num_classes=10, auxiliary_classifiers=True)
    assert [o.name for o in model.outputs] and len(model.outputs) == 3
    assert {"aux1_softmax", "aux2_softmax"} <= {layer.name for layer in model.layers}
    outs = model(np.zeros((1, 96, 96, 3), "float32"))
    assert [tuple(o.shape) for o in outs] == [(1, 10)] * 3


def test_every_network_has_telling_layer_names():
    names = {layer.name for layer in small_build("resnet50").layers}
    assert {
        "conv1",
        "pool1",
        "conv2_1_a",
        "conv2_1_proj",
        "conv3_1_subsample",
        "conv5_3_c_bn",
        "fc",
        "softmax",
    } <= names
    assert "inception_4a_3x3_reduce" in {layer.name for layer in small_build("googlenet").layers}
    assert "dense3_unit12_conv2" in {layer.name for layer in small_build("densenet121").layers}
    assert all(not layer.name.startswith(("conv2d", "dense_", "max_pooling")) for layer in small_build("vgg16").layers)


def test_unknown_network_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown network 'resnt34'\. Did you mean 'resnet34'\?.*vgg16"):
        models.build("resnt34")


def test_unknown_option_lists_the_options():
    with pytest.raises(TypeError, match=r"vgg16: unknown option\(s\) clases.*num_classes"):
        models.build("vgg16", clases=10)


def test_registering_twice_is_an_error():
    with pytest.raises(ValueError, match="registered twice"):
        models.register("vgg16", models.get("vgg16").builder)


def test_too_small_input_names_network_layer_shapes_and_the_fix():
    with pytest.raises(InputTooSmallError) as error:
        models.build("alexnet", input_shape=(16, 16, 3))
    assert str(error.value) == (
        "alexnet: 'pool1' (max pool 3x3, stride 2, valid padding) gets a 2x2x96 feature map, "
        "needs at least 3x3, from a 16x16x3 input; use an input of 67x67 or more."
    )
    models.build("alexnet", input_shape=(67, 67, 3))  # the suggested size works


def test_two_tower_alexnet_halves_the_grouped_convs():
    one, two = models.build("alexnet"), models.build("alexnet", groups=2)
    saved = {
        name: one.get_layer(name).count_params() - two.get_layer(name).count_params()
        for name in ("conv2", "conv3", "conv4", "conv5")
    }
    # CaffeNet's group=2 counts: conv2 307,456, conv4 663,936, conv5 442,624 (conv3 is not grouped)
    assert saved == {"conv2": 614_656 - 307_456, "conv3": 0, "conv4": 1_327_488 - 663_936, "conv5": 884_992 - 442_624}
    assert two.count_params() == 60_965_224


def test_students_options_reach_the_layers():
    model = models.build("resnet20", dropout=0.3, batch_norm=False, num_classes=5)
    assert model.get_layer("dropout").rate == 0.3 and model.output_shape == (None, 5)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    assert models.build("vgg11", input_shape=(32, 32, 3), batch_norm=True).get_layer("block1_conv1_bn")


def test_cifar_resnets_and_plain_twins_have_the_same_parameters():
    for depth in (20, 56):
        assert models.build(f"resnet{depth}").count_params() == models.build(f"plain{depth}").count_params()
    # He et al. Table 6: ResNet-20 0.27M, ResNet-56 0.85M
    assert round(models.build("resnet20").count_params() / 1e6, 2) == 0.27


# Independent references: torchvision's parameter counts (trainable parameters: BN scale and shift, no
# conv bias), as torchvision 0.26 reported them (sum of p.numel() over parameters()).
TORCHVISION = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "densenet121": 7_978_856,
    "densenet169": 14_149_480,
    "densenet201": 20_013_928,
    "densenet161": 28_681_000,
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
}


@pytest.mark.parametrize("name, expected", TORCHVISION.items())
def test_parameters_equal_torchvision(name, expected, built):
    model = built(name)
    assert profile(model, convention="macs").total_params == expected
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == expected


KERAS_APPLICATIONS = {
    "vgg16": ("VGG16", {}),
    "vgg19": ("VGG19", {}),
    "resnet50": ("ResNet50", {"use_bias": True}),
    "resnet101": ("ResNet101", {"use_bias": True}),
    "resnet152": ("ResNet152", {"use_bias": True}),
    "densenet121": ("DenseNet121", {}),
    "densenet169": ("DenseNet169", {}),
    "densenet201": ("DenseNet201", {}),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", KERAS_APPLICATIONS)
def test_parameters_and_shapes_equal_keras_applications(name, built):
    application, options = KERAS_APPLICATIONS[name]
    theirs = getattr(keras.applications, application)(weights=None)
    ours = models.build(name, **options) if options else built(name)
    assert ours.count_params() == theirs.count_params()
    assert ours.output_shape == theirs.output_shape

    def conv(m):
        return sorted(tuple(layer.kernel.shape) for layer in m.layers if isinstance(layer, keras.layers.Conv2D))

    assert conv(ours) == conv(theirs)
