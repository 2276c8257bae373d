"""The grader's inspection of a .keras file before any Keras loads it: config allow-list, zip caps, h5 checks."""

import copy
import json
import zipfile

import h5py
import numpy as np
import pytest

from cnnlab.grading.modelcheck.inspection import RefusedModel, check_config, check_weights, inspect, weights_cap


def dense(name, inbound, units=2, **config):
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "registered_name": None,
        "name": name,
        "config": {
            "name": name,
            "units": units,
            "activation": "relu",
            "kernel_initializer": {
                "module": "keras.initializers",
                "class_name": "GlorotUniform",
                "config": {"seed": None},
                "registered_name": None,
            },
            "dtype": {
                "module": "keras",
                "class_name": "DTypePolicy",
                "config": {"name": "float32"},
                "registered_name": None,
            },
            **config,
        },
        "inbound_nodes": [
            {
                "args": [
                    {"class_name": "__keras_tensor__", "config": {"shape": [None, 4], "keras_history": [inbound, 0, 0]}}
                ],
                "kwargs": {},
            }
        ],
    }


def functional(*extra):
    layers = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "registered_name": None,
            "name": "x",
            "config": {"batch_shape": [None, 4], "name": "x"},
            "inbound_nodes": [],
        },
        dense("hidden", "x"),
        dense("out", "hidden"),
        *extra,
    ]
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "registered_name": None,
        "config": {"name": "m", "layers": layers, "input_layers": [["x", 0, 0]], "output_layers": [["out", 0, 0]]},
    }


def sequential():
    layers = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "registered_name": None,
            "config": {"batch_shape": [None, 4]},
        },
        dense("d", "x"),
    ]
    for layer in layers:
        layer.pop("inbound_nodes", None)
    return {"module": "keras", "class_name": "Sequential", "registered_name": None, "config": {"layers": layers}}


def test_functional_and_sequential_models_of_core_layers_pass():
    check_config(functional())
    check_config(sequential())
    compiled = functional()  # compile_config is never built (compile=False): the optimizer's classes do not matter
    compiled["compile_config"] = {"optimizer": {"module": "keras.optimizers", "class_name": "SGD", "config": {}}}
    check_config(compiled)
    lrn = dense("lrn", "hidden")
    lrn.update(
        module="cnnlab.blocks.lrn",
        class_name="LocalResponseNormalization",
        registered_name="cnnlab>LocalResponseNormalization",
    )
    model = functional(lrn)
    model["config"]["layers"][2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["lrn", 0, 0]
    check_config(model)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["config"]["layers"][1].update(class_name="Lambda"), "keras.layers.Lambda"),
        (
            lambda m: m["config"]["layers"][1]["config"].update(
                activation={
                    "module": "keras.config",
                    "class_name": "function",
                    "config": "set_floatx",
                    "registered_name": "function",
                }
            ),
            "keras.config.function",
        ),
        (
            lambda m: m["config"]["layers"][1]["config"].update(activation="keras.config.disable_traceback_filtering"),
            "activation 'keras.config",
        ),
        (lambda m: m["config"]["layers"][1].update(module="os", class_name="system"), "os.system"),
        (lambda m: m["config"]["layers"][1].update(registered_name="Custom>Dense"), "registered as 'Custom>Dense'"),
        (
            lambda m: m["config"]["layers"][1].update(
                module="cnnlab.blocks.lrn", registered_name="cnnlab>Evil", class_name="Evil"
            ),
            "cnnlab.blocks.lrn.Evil",
        ),
        (
            lambda m: m["config"]["layers"][1]["config"].update(kernel_initializer={"module": "numpy", "config": {}}),
            "an object without a class",
        ),
        (lambda m: m.update(class_name="Evil"), "describes 'Evil'"),
    ],
)
def test_objects_off_the_allow_list_are_refused(change, message):
    model = functional()
    change(model)
    with pytest.raises(RefusedModel, match=message.replace("(", r"\(").replace(".", r"\.")):
        check_config(model)


def test_a_layer_not_connected_to_the_outputs_is_refused():
    with pytest.raises(RefusedModel, match="layers huge are not connected"):
        check_config(functional(dense("huge", "x", units=10**8)))
    nested = copy.deepcopy(functional(dense("huge", "x")))
    outer = functional()
    nested.update(name="inner")
    nested["inbound_nodes"] = outer["config"]["layers"][2]["inbound_nodes"]
    outer["config"]["layers"].append(nested)
    outer["config"]["output_layers"] = [["out", 0, 0], ["inner", 0, 0]]
    with pytest.raises(RefusedModel, match="layers huge are not connected"):
        check_config(outer)


def keras_file(path, config=None, weights=None, extra=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3"}))
        archive.writestr("config.json", config if isinstance(config, bytes) else json.dumps(config or functional()))
        if weights is not None:
            archive.write(weights, "model.weights.h5")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def h5(path, build):
    with h5py.File(path, "w") as file:
        file.create_dataset("layers/out/vars/0", data=np.zeros((4, 2), "float32"))
        build(file)
    return path


def test_honest_archive_passes_and_the_weights_are_copied(tmp_path):
    weights = h5(tmp_path / "w.h5", lambda f: None)
    inspect(keras_file(tmp_path / "m.keras", weights=weights), expected_params=10, scratch=tmp_path)
    assert (tmp_path / "model.weights.h5").read_bytes() == weights.read_bytes()


def test_archives_with_other_members_padding_or_bombs_are_refused(tmp_path):
    with pytest.raises(RefusedModel, match="holds evil.py"):
        inspect(keras_file(tmp_path / "a.keras", extra={"evil.py": b"x"}), scratch=tmp_path)
    padded = json.dumps(functional()).encode() + b" " * (3 * 2**20)
    with pytest.raises(RefusedModel, match="config.json expands to 3,1"):
        inspect(keras_file(tmp_path / "b.keras", config=padded), scratch=tmp_path)
    bomb = tmp_path / "bomb.h5"
    bomb.write_bytes(b"\0" * (10 * 2**20))  # 10 MB of zeros: a few KB compressed
    with pytest.raises(RefusedModel, match="model.weights.h5 expands to 10,485,760 bytes"):
        inspect(keras_file(tmp_path / "c.keras", weights=bomb), expected_params=10, scratch=tmp_path)
    (tmp_path / "d.keras").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(RefusedModel, match="is not a Keras model file"):
        inspect(tmp_path / "d.keras")


def test_h5_links_virtual_external_and_huge_datasets_are_refused(tmp_path):
    (tmp_path / "other.h5").write_bytes(h5(tmp_path / "o.h5", lambda f: None).read_bytes())
    cases = {
        "external link": (
            lambda f: f.__setitem__("layers/x", h5py.ExternalLink(str(tmp_path / "other.h5"), "/")),
            "is a ExternalLink",
        ),
        "soft link": (lambda f: f.__setitem__("layers/y", h5py.SoftLink("/layers/out")), "is a SoftLink"),
        "external dataset": (
            lambda f: f.create_dataset(
                "layers/e", shape=(4,), dtype="f4", external=[(str(tmp_path / "raw.bin"), 0, 16)]
            ),
            "virtual or external dataset",
        ),
        "virtual dataset": (
            lambda f: f.create_virtual_dataset("layers/v", h5py.VirtualLayout(shape=(4, 2), dtype="f4")),
            "virtual or external dataset",
        ),
        "strings": (lambda f: f.create_dataset("layers/s", data=np.array([b"x" * 100])), "not numbers"),
        "huge": (lambda f: f.create_dataset("layers/h", shape=(10**9,), dtype="f4"), "declares more than"),
    }
    for name, (build, message) in cases.items():
        path = h5(tmp_path / f"{name}.h5", build)
        assert path.stat().st_size < 2**20, name  # declared, not stored
        with pytest.raises(RefusedModel, match=message):
            check_weights(path, weights_cap(1000))
    assert check_weights(h5(tmp_path / "ok.h5", lambda f: None), weights_cap(10)) == 8
