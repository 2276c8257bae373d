import json

import keras
import numpy as np
import pytest
from keras import layers

from cnnlab import lecture, models
from cnnlab.profile import UnsupportedLayerError, profile, receptive_field
from cnnlab.profile.depth import weight_layers


@pytest.mark.parametrize("entry", lecture.tables()["tables"], ids=lambda e: e["network"])
def test_every_lecture_table_is_reproduced_row_by_row(entry, built):
    check = lecture.check_table(entry, built)
    assert check.failures == []


def test_the_two_slide_typos_are_reported_not_failed():
    typos = {entry["network"]: entry["typos"] for entry in lecture.tables()["tables"] if entry["typos"]}
    assert typos == {
        "vgg16": [{"row": 1, "field": "ops", "printed": 89_915_390, "correct": 89_915_392}],
        "inception-5b-naive": [{"row": "total", "field": "ops", "printed": 271_418_048, "correct": 287_091_392}],
    }
    assert lecture.check_table(lecture.tables()["tables"][4]).ok  # vgg16 passes with the correct value


def test_a_wrong_number_fails_the_check():
    entry = json.loads(json.dumps(lecture.tables()["tables"][0]))
    entry["rows"][3][3] += 1  # conv(5, 64) ops
    check = lecture.check_table(entry)
    assert not check.ok and "row 'conv(5, 64)'" in check.failures[0]


def test_resnet_flops_row_and_configuration_depths(built):
    assert lecture.check_flops_row(built).failures == []
    assert lecture.check_depths(built).failures == []


def test_inception_branches_as_in_the_conventions():
    table = profile(models.build("inception-5b"), rows="layers")
    # CONVENTIONS.md section 2: ops per branch of GoogLeNet inception(5b) on 7x7x832
    assert [(row.label, row.ops) for row in table.rows[1:]] == [
        ("inception_5b_1x1: conv(1, 384)", 15_673_728),
        ("inception_5b_3x3_reduce: conv(1, 192)", 7_836_864),
        ("inception_5b_3x3: conv(3, 384, p1)", 32_532_864),
        ("inception_5b_5x5_reduce: conv(1, 48)", 1_959_216),
        ("inception_5b_5x5: conv(5, 128, p2)", 7_532_672),
        ("inception_5b_pool: pool(3, 1)", 40_768),
        ("inception_5b_pool_proj: conv(1, 128)", 5_224_576),
    ]
    assert table.total_ops == 70_800_688
    module = profile(models.build("inception-5b")).rows[1]
    assert (module.label, module.volume) == ("inception_5b", (7, 7, 1024))


def test_resnet_rows_group_units_like_the_slides():
    table = profile(models.build("resnet34"))
    assert [(row.label, row.repeat) for row in table.rows[3:6]] == [
        ("conv2_1..conv2_3", 3),
        ("conv3_1", 1),
        ("conv3_2..conv3_4", 3),
    ]
    assert table.row("conv3_1").layers[:3] == ["conv3_1_a", "conv3_1_a_bn", "conv3_1_a_relu"]
    assert table.row("conv2_2") is table.row("conv2_1..conv2_3") is table.row("conv2_3_b_bn")


def test_deck_counts_a_bn_network_as_its_folded_network():
    with_bn = profile(models.build("resnet18"))
    without_bn = profile(models.build("resnet18", batch_norm=False))

    def numbers(table):
        return [(r.label, r.repeat, r.params, r.ops, r.volume) for r in table.rows]

    assert numbers(with_bn) == numbers(without_bn)


def test_keras_convention_is_keras_own_count():
    model = models.build("resnet18", input_shape=(32, 32, 3), num_classes=10)
    table = profile(model, convention="keras")
    assert table.total_params == model.count_params()
    assert table.non_trainable_params == sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)


def test_lenet_subsampling_and_rbf_under_each_convention():
    model = models.build("lenet5")
    deck, keras_count = profile(model), profile(model, convention="keras")
    assert deck.row("s2").params == 0 and keras_count.row("s2").params == 12
    assert deck.row("rbf").params == 850 and keras_count.row("rbf").params == 840


def test_grouped_convs_count_dense_on_the_deck_and_grouped_in_keras():
    two_tower = models.build("alexnet", groups=2)
    assert profile(two_tower).total_params == 62_378_344  # the deck ignores groups
    assert profile(two_tower, convention="keras").total_params == 60_965_224
    assert profile(two_tower).row("conv2").label == "conv2: conv(5, 256, p2, g2)"


def test_a_hand_built_sequential_model_is_profiled_like_the_builder():
    student = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(100, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    ours = profile(models.build("convnet-mnist"))
    theirs = profile(student)
    assert theirs.total_params == ours.total_params
    assert theirs.total_ops == ours.total_ops  # a fused softmax counts as a softmax layer: 1 op per output
    assert [row.volume for row in theirs.rows] == [row.volume for row in ours.rows][:-1]


def test_unsupported_layers_are_named():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, layers.DepthwiseConv2D(3, name="dw")(inputs))
    with pytest.raises(UnsupportedLayerError, match=r"'dw' \(DepthwiseConv2D\)"):
        profile(model)


def test_variable_input_size_is_refused_clearly():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(inputs)))
    with pytest.raises(ValueError, match="needs a fixed input size"):
        profile(model)


@pytest.mark.parametrize("convention", ["deck", "macs", "keras"])
def test_renderings_carry_the_same_numbers(convention):
    table = profile(models.build("convnet-cifar10"), convention=convention)
    data = json.loads(table.render("json"))
    assert set(data) >= {"rows", "total_params", "total_ops"}
    assert set(data["rows"][1]) >= {"label", "repeat", "params", "ops", "volume"}
    assert data["total_params"] == table.total_params == sum(r["params"] for r in data["rows"])
    assert data["rows"][1]["volume"] == [28, 28, 32]
    text, markdown, html = table.render("text"), table.render("markdown"), table.render("html")
    for rendering in (text, markdown, html):
        assert f"{table.total_ops:,}" in rendering and "28 x 28 x 32" in rendering
    assert table._repr_html_() == html and html.startswith("<table>")
    assert repr(table) == (
        f"<Table convnet-cifar10 ({convention}): 8 rows, {table.total_params:,} parameters, "
        f"{table.total_ops:,} operations>"
    )
    with pytest.raises(ValueError, match="format must be one of"):
        table.render("pdf")


def test_receptive_field_of_three_3x3_is_one_7x7():
    assert receptive_field([(3, 1)] * 3) == receptive_field([(7, 1)]) == (7, 1)

    def params(k):
        return k * k * 64 * 64

    assert 3 * params(3) < params(7)  # same field, fewer parameters
    vgg = models.build("vgg16", input_shape=(32, 32, 3), num_classes=10)
    assert receptive_field(vgg, upto="block1_pool") == (6, 2)
    assert receptive_field([layers.Conv2D(1, 11, strides=4), layers.MaxPooling2D(3, 2)]) == (19, 8)
    with pytest.raises(ValueError, match="merges branches"):
        receptive_field(models.build("resnet18", input_shape=(32, 32, 3)))


def test_weight_layers_follow_the_longest_path():
    assert weight_layers(models.build("googlenet", auxiliary_classifiers=True)) == 22  # "22 layers" (paper)
    assert weight_layers(models.build("resnet50", input_shape=(32, 32, 3))) == 50
    assert weight_layers(models.build("inception-5b")) == 2  # a reduction then a 3x3 or 5x5
    assert weight_layers(models.build("convnet-mnist")) == 4
