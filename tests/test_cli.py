import json

import pytest

from cnnlab import lecture
from cnnlab.cli import main


def test_table_json_follows_the_schema(capsys):
    assert main(["table", "convnet-mnist", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 155_606 and data["total_ops"] == 3_886_166
    assert data["rows"][-1] == {
        "label": "softmax: softmax",
        "repeat": 1,
        "params": 0,
        "ops": 0,
        "volume": [10],
        "layers": ["softmax"],
    }


def test_table_text_with_options(capsys):
    assert main(["table", "vgg16", "--input-shape", "32,32,3", "--num-classes", "10", "--convention", "macs"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("vgg16 (macs: multiply-adds of conv and fc layers)") and "1 x 1 x 512" in out


def test_unknown_network_is_one_line_and_exit_1(capsys):
    assert main(["table", "resnt34"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cnnlab: error: unknown network 'resnt34'. Did you mean 'resnet34'?")
    assert len(err.strip().splitlines()) == 1


def test_too_small_input_is_explained(capsys):
    assert main(["table", "alexnet", "--input-shape", "16,16,3"]) == 1
    assert "use an input of 67x67 or more" in capsys.readouterr().err


def test_networks_lists_every_network(capsys):
    assert main(["networks"]) == 0
    out = capsys.readouterr().out
    assert "resnet152" in out and "densenet-bc-cifar" in out and "options: input_shape" in out


@pytest.mark.slow
def test_all_check_passes_and_lists_the_typos(capsys, monkeypatch, built):
    monkeypatch.setattr("cnnlab.models.build", built)  # the networks the other tests of the lecture's tables built
    assert main(["table", "--all", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.count("typo on the slide") == 2 and "MISMATCH" not in out
    assert "all 11 lecture tables match" in out
    assert "densenet-bc-cifar (deck" in out  # every network's table is printed


def test_check_fails_on_a_mismatch(capsys, monkeypatch):
    data = json.loads(json.dumps(lecture.tables()))
    data["tables"] = data["tables"][:1]
    data["tables"][0]["total_ops"] += 1
    data["weight_layers"] = {"vgg11": 11}
    data["flops_row"]["networks"] = {}
    monkeypatch.setattr(lecture, "tables", lambda: data)
    monkeypatch.setattr("cnnlab.models.names", lambda: ["convnet-mnist"])
    assert main(["table", "--all", "--check"]) == 1
    captured = capsys.readouterr()
    assert (
        "MISMATCH convnet-mnist" in captured.out and "total operations: cnnlab 3886166, lecture 3886167" in captured.out
    )
    assert "1 lecture table(s) do not match: convnet-mnist" in captured.err


def test_reproduce_is_a_cnnlab_command(capsys):
    assert main(["reproduce", "convnet-mnist", "--save", "model.h5"]) == 1
    assert "--save needs a path ending in .keras" in capsys.readouterr().err
