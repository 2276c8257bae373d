"""A submitted `.keras` file inspected before anything loads it, in the grader's process, without Keras.

`inspect(path, expected_params)` raises `RefusedModel` (the reason, for the student) unless:

- the zip archive holds only `metadata.json`, `config.json` and `model.weights.h5`, no links, each no larger
  than its cap (the weights' from the lab's expected parameter count: `weights_cap`), and the copy of the weights
  stops at its cap whatever the archive declares;
- every object in `config.json` (any dict with a `class_name`) is on the allow-list: a Functional or Sequential
  model, Keras' core layers (`LAYERS`), cnnlab's registered layers and initializer (`CNNLAB`), Keras'
  initializers, regularizers, constraints and dtype policies; no Lambda, no `function` reference, no module or
  `registered_name` outside the list; activations are names of Keras' activations (`compile_config`, the
  optimizer and loss, is not walked: the model is loaded with `compile=False`, which never builds it);
- every layer of a Functional model is connected to its outputs (an unconnected layer is weights for nothing);
- `model.weights.h5`, opened with h5py, has no external or soft link, no virtual or external dataset, numbers
  only, and declares no more values than the cap.

This is the first layer; the model is then loaded only in a fresh jailed process (`cnnlab.grading.modelcheck._probe`).
"""

import json
import shutil
import stat
import zipfile
from pathlib import Path

MEMBERS = {"metadata.json": 64 * 2**10, "config.json": 2 * 2**20, "model.weights.h5": None}
MAX_LAYERS = 5000
DEFAULT_PARAMS = 50_000_000  # a lab without a parameter check: no CNN of the course comes near
PARAMS_FACTOR = 8  # room for the optimizer's variables (Adam: 2 per weight) and float64 weights

MODELS = {"Functional", "Sequential"}
LAYERS = {
    "InputLayer",
    "Dense",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv2DTranspose",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Flatten",
    "Reshape",
    "Permute",
    "Dropout",
    "SpatialDropout2D",
    "GaussianNoise",
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "Softmax",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "ZeroPadding2D",
    "Cropping2D",
    "UpSampling2D",
    "Rescaling",
    "Identity",
    "Resizing",
    "CenterCrop",
    "Normalization",
    "RandomFlip",
    "RandomCrop",
    "RandomTranslation",
    "RandomRotation",
    "RandomZoom",
}
CNNLAB = {
    "TrainableSubsampling",
    "ScaledTanh",
    "RBFOutput",
    "LocalResponseNormalization",
    "Subsample",
    "ZeroPadChannels",
    "FanInUniform",
}
INITIALIZERS = {
    "GlorotUniform",
    "GlorotNormal",
    "HeUniform",
    "HeNormal",
    "LecunUniform",
    "LecunNormal",
    "Zeros",
    "Ones",
    "Constant",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Orthogonal",
}
OTHERS = {
    "keras.regularizers": {"L1", "L2", "L1L2"},
    "keras.constraints": {"MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm"},
    "keras.initializers": INITIALIZERS,
    "keras": {"DTypePolicy", "FloatDTypePolicy"} | MODELS,
    "keras.layers": LAYERS,
    "keras.src.models.functional": {"Functional"},
    "keras.src.models.sequential": {"Sequential"},
    "keras.models": MODELS,
}
ACTIVATIONS = {
    "relu",
    "relu6",
    "sigmoid",
    "softmax",
    "tanh",
    "linear",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "softplus",
    "softsign",
    "leaky_relu",
    "hard_sigmoid",
    "hard_silu",
    "exponential",
    "log_softmax",
    "mish",
}


class RefusedModel(ValueError):
    """The file is not a model the grader will load; the message says why."""


def weights_cap(expected_params=None):
    """The most values (and, times 8, bytes) the weights file may declare for a lab expecting `expected_params`."""
    return PARAMS_FACTOR * (expected_params or DEFAULT_PARAMS) + 100_000


def inspect(path, expected_params=None, scratch=None):
    """Check `path` (a .keras file) as above; the weights are copied to `scratch` (a folder) for h5py."""
    path = Path(path)
    cap = weights_cap(expected_params)
    if not zipfile.is_zipfile(path):
        raise RefusedModel(
            f"{path.name} is not a Keras model file (a .keras file is a zip archive); "
            f"save it with model.save('{path.name}') or lab.save_model"
        )
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        names = [m.filename for m in members]
        unknown = [n for n in names if n not in MEMBERS]
        if unknown or len(set(names)) != len(names):
            raise RefusedModel(
                f"{path.name} holds {', '.join(sorted(set(unknown)) or ['a file twice'])[:200]}: a model "
                f"file holds only {', '.join(MEMBERS)} (save it with model.save)"
            )
        if "config.json" not in names:
            raise RefusedModel(f"{path.name} has no config.json: save it with model.save")
        for member in members:
            limit = MEMBERS[member.filename] or 8 * cap + 2**20
            if stat.S_ISLNK(member.external_attr >> 16):
                raise RefusedModel(f"{path.name}: {member.filename} is a link")
            if member.file_size > limit:
                raise RefusedModel(
                    f"{path.name}: {member.filename} expands to {member.file_size:,} bytes, over "
                    f"the grader's cap of {limit:,} for this lab"
                )
        with archive.open("config.json") as file:
            text = file.read(MEMBERS["config.json"] + 1)
        if len(text) > MEMBERS["config.json"]:
            raise RefusedModel(f"{path.name}: config.json is larger than {MEMBERS['config.json']:,} bytes")
        try:
            config = json.loads(text)
        except (ValueError, UnicodeDecodeError) as error:
            raise RefusedModel(f"{path.name}: config.json is not JSON ({error})") from None
        check_config(config)
        if "model.weights.h5" in names and scratch is not None:
            weights = Path(scratch) / "model.weights.h5"
            with archive.open("model.weights.h5") as source, open(weights, "wb") as target:
                copied = _copy(source, target, 8 * cap + 2**20)
            if copied is None:
                raise RefusedModel(
                    f"{path.name}: model.weights.h5 is larger than the grader's cap of "
                    f"{8 * cap + 2**20:,} bytes for this lab"
                )
            check_weights(weights, cap)


def _copy(source, target, limit):
    copied = 0
    while chunk := source.read(2**20):
        copied += len(chunk)
        if copied > limit:
            return None
        target.write(chunk)
    return copied


# -- config.json --


def check_config(config):
    """Raise RefusedModel unless `config` (config.json, parsed) is an allow-listed, fully connected model."""
    if not isinstance(config, dict) or config.get("class_name") not in MODELS:
        what = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise RefusedModel(f"config.json describes {what!r}, not a Functional or Sequential Keras model")
    count = [0]
    _walk(config, "config.json", count)
    _connected(config)


def _refuse(where, what):
    raise RefusedModel(
        f"config.json: {where} is {what}, which the grader does not load (allowed: Keras' core "
        f"layers, initializers, regularizers, constraints and cnnlab's layers; no Lambda, no functions)"
    )


def _walk(node, where, count):
    if isinstance(node, list):
        for item in node:
            _walk(item, where, count)
        return
    if not isinstance(node, dict):
        return
    if "class_name" in node:
        _allowed(node, where)
        count[0] += 1
        if count[0] > MAX_LAYERS * 20:
            raise RefusedModel(f"config.json has more than {MAX_LAYERS * 20:,} objects")
        name = node.get("config", {}).get("name") if isinstance(node.get("config"), dict) else None
        where = f"{node['class_name']} {name!r}" if name else node["class_name"]
    elif "module" in node or "registered_name" in node:
        _refuse(where, f"an object without a class ({str(node.get('module'))[:60]})")
    for key, value in node.items():
        if key == "compile_config":
            continue  # optimizer, loss, metrics: the grader loads with compile=False, so nothing of it is built
        if key == "activation" and isinstance(value, str) and value not in ACTIVATIONS:
            _refuse(where, f"activation {value[:60]!r}")
        _walk(value, where, count)


def _allowed(node, where):
    cls, module, registered = node.get("class_name"), node.get("module"), node.get("registered_name")
    if cls == "__keras_tensor__" and set(node) <= {"class_name", "config"}:
        return
    if not isinstance(cls, str) or not isinstance(module, (str, type(None))):
        _refuse(where, "an object with an odd class")
    if module is None and cls in INITIALIZERS | MODELS | LAYERS and registered is None:
        return
    if module and module.startswith("cnnlab.") and cls in CNNLAB and registered == f"cnnlab>{cls}":
        return
    if module in OTHERS and cls in OTHERS[module] and registered in (None, cls):
        return
    _refuse(where, f"{module}.{cls}" + (f" (registered as {str(registered)[:60]!r})" if registered else ""))


def _connected(config):
    """Every layer of every Functional model (nested ones too) reaches the outputs."""
    inner = config.get("config", {})
    layers = inner.get("layers", [])
    if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
        raise RefusedModel(f"config.json: the model's layers are not a list of at most {MAX_LAYERS:,}")
    for layer in layers:
        if isinstance(layer, dict) and layer.get("class_name") in MODELS:
            _connected(layer)
    if config.get("class_name") != "Functional":
        return  # a Sequential model is a chain: every layer is on the way to the output
    by_name = {layer.get("name") or layer.get("config", {}).get("name"): layer for layer in layers}
    todo = [ref[0] for ref in _references(inner.get("output_layers", []))]
    todo += [h[0] for h in _histories(inner.get("output_layers", []))]
    reached = set()
    while todo:
        name = todo.pop()
        if name in reached or name not in by_name:
            continue
        reached.add(name)
        todo += [h[0] for h in _histories(by_name[name].get("inbound_nodes", []))]
    unconnected = sorted(str(n) for n in by_name if n not in reached)
    if unconnected:
        raise RefusedModel(
            f"config.json: layers {', '.join(unconnected)[:200]} are not connected to the model's "
            f"outputs; save only the model you trained"
        )


def _references(outputs):
    """`output_layers`: [name, node, tensor] or a list of them."""
    if isinstance(outputs, list) and len(outputs) == 3 and isinstance(outputs[0], str):
        return [outputs]
    return (
        [o for o in outputs if isinstance(o, list) and len(o) == 3 and isinstance(o[0], str)]
        if isinstance(outputs, list)
        else []
    )


def _histories(node):
    """Every `keras_history` [layer, node, tensor] under `node`."""
    if isinstance(node, dict):
        history = node.get("keras_history")
        found = [history] if isinstance(history, list) and history and isinstance(history[0], str) else []
        return found + [h for v in node.values() for h in _histories(v)]
    if isinstance(node, list):
        return [h for v in node for h in _histories(v)]
    return []


# -- model.weights.h5 --


def check_weights(path, cap):
    """Raise RefusedModel unless the HDF5 file has hard links only, plain numeric datasets, at most `cap` values."""
    import h5py

    total = 0
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise RefusedModel(f"model.weights.h5 is not an HDF5 file ({error})") from None
    with file:
        todo = [file]
        while todo:
            group = todo.pop()
            for name in group:
                link = group.get(name, getlink=True)
                where = f"{group.name.rstrip('/')}/{name}"
                if not isinstance(link, h5py.HardLink):
                    raise RefusedModel(f"model.weights.h5: {where} is a {type(link).__name__}, not stored in the file")
                item = group[name]
                if isinstance(item, h5py.Group):
                    todo.append(item)
                    continue
                if not isinstance(item, h5py.Dataset):
                    raise RefusedModel(f"model.weights.h5: {where} is not a dataset or a group")
                if item.is_virtual or item.external:
                    raise RefusedModel(f"model.weights.h5: {where} is a virtual or external dataset")
                if item.dtype.kind not in "fiub" or item.dtype.itemsize > 8:
                    raise RefusedModel(f"model.weights.h5: {where} holds {item.dtype}, not numbers")
                total += int(item.size)
                if total > cap:
                    raise RefusedModel(
                        f"model.weights.h5 declares more than {cap:,} values, over the grader's cap "
                        f"for this lab (about {cap // PARAMS_FACTOR:,} parameters)"
                    )
    return total


def copy_for_jail(path, folder):
    """The submitted file copied into the jail's folder (the jail never sees the grader's copy)."""
    target = Path(folder) / Path(path).name
    shutil.copyfile(path, target)
    return target
