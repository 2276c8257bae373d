"""The decisive model checks: run in the grader's process on the `.keras` file a student submitted.

Nothing the notebook did in its kernel (redefining helpers, monkeypatching Keras) reaches this process: the
model is loaded here from the submitted file, with Keras' safe mode (no Python code from the file), and
measured with this process's own Keras, `cnnlab.profile` and the grader's copy of the data (`--data DIR`,
read with `cnnlab.data.load_split(name, split, DIR)`; the sandboxed kernel cannot read it).

Predictions: an output with one channel is thresholded at 0.5 (a sigmoid), a wider one gives its argmax. On a
spatial output (a segmentation model, `(None, H, W, C)`) "accuracy" is the share of pixels labelled right and
"dice" the Dice coefficient of one class over every pixel of the split.
"""

import functools
import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from cnnlab.grading.labconfig import data_files


@dataclass
class CheckResult:
    model: str
    check: str
    points: float
    score: float
    passed: bool
    message: str

    def to_json(self):
        return asdict(self)


def _load(path):
    import keras

    import cnnlab.blocks  # noqa: F401  (registers cnnlab's layers for deserialization)

    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path.name} is not a Keras model file (a .keras file is a zip archive); "
                         f"save it with model.save('{path.name}') or lab.save_model")
    return keras.saving.load_model(path, compile=False, safe_mode=True)


def _shape(shape):
    return [None if d is None else int(d) for d in shape]


def describe(check):
    """Where a check's images come from, for the messages: `mnist test, padded to 32x32`."""
    if "test_set" in check:
        return f"the grader's test set {check['test_set']}"
    text = f"{check['dataset']} {check.get('split', 'test')}"
    if "pad_to" in check:
        text += f", padded to {check['pad_to']}x{check['pad_to']}"
    if "limit" in check:
        text += f", first {check['limit']:,} images"
    return text


def evaluation_set(check, data_dir):
    """(images, labels) of an accuracy or dice check, as the lab feeds them: uint8, with a channel axis."""
    if data_dir is None:
        raise FileNotFoundError(f"the {check['check']} check needs the grader's data ({', '.join(data_files(check))}): "
                                f"pass --data DIR (or set CNNLAB_DATA_DIR) to the folder that holds it")
    source = {k: check[k] for k in ("test_set", "dataset", "split", "pad_to", "limit") if k in check}
    return _evaluation_set(str(Path(data_dir).resolve()), json.dumps(source, sort_keys=True))


@functools.lru_cache(maxsize=4)  # a worker grades many submissions of one lab: the data is read once
def _evaluation_set(data_dir, source):
    source = json.loads(source)
    if "test_set" in source:
        path = Path(source["test_set"])
        path = path if path.is_absolute() else Path(data_dir) / path
        with np.load(path) as arrays:
            return arrays["x"], arrays["y"]
    from cnnlab.data import load_split, pad

    x, y = load_split(source["dataset"], source.get("split", "test"), data_dir)
    if "limit" in source:
        x, y = x[:source["limit"]], y[:source["limit"]]
    if "pad_to" in source:
        x = pad(x, source["pad_to"])
    if x.ndim == 3:
        x = x[..., None]
    return x, y


def predicted_labels(model, x, batch_size=None):
    """The model's label per image (classifier) or per pixel (segmentation): threshold 0.5 on one channel, else argmax."""
    from cnnlab.train.metrics import classes_of  # cnnlab.train imports TensorFlow: only when a model is checked

    spatial = len(model.output.shape) > 2
    return classes_of(model.predict(x, batch_size=batch_size or (4 if spatial else 500), verbose=0))


def _labels(y, shape):
    y = np.asarray(y)
    if y.size != int(np.prod(shape)) and y.ndim == len(shape) + 1:
        y = y.argmax(-1)  # one-hot labels
    if y.size != int(np.prod(shape)):
        raise ValueError(f"the model predicts labels of shape {tuple(shape)}, the grader's labels have shape {y.shape}")
    return y.reshape(shape)


def accuracy(predicted, y):
    """The share of images (or pixels) whose predicted label equals the label."""
    return float(np.mean(predicted == _labels(y, predicted.shape)))


def measure(model, check, data_dir):
    """The measured value of one check on a loaded model."""
    kind = check["check"]
    if kind == "params":
        if check.get("trainable"):
            return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
        return int(model.count_params())
    if kind == "output_shape":
        return _shape(model.output.shape)
    if kind == "ops":
        from cnnlab.profile import profile

        return int(profile(model, convention=check.get("convention", "deck"), rows="layers",
                           softmax_ops=check.get("softmax_ops", True)).total_ops)
    if kind in ("accuracy", "dice"):
        x, y = evaluation_set(check, data_dir)
        predicted = predicted_labels(model, x, check.get("batch_size"))
        if kind == "accuracy":
            return accuracy(predicted, y)
        from cnnlab.train.metrics import dice

        return dice(_labels(y, predicted.shape), predicted, check.get("label", 1))
    raise ValueError(f"unknown check {kind!r}")


def minimum(check, quick=False):
    """The threshold of an accuracy or dice check: `quick_min` when the grader runs with --quick, else `min`."""
    return check["quick_min"] if quick and "quick_min" in check else check["min"]


def _verdict(check, value, quick=False):
    kind = check["check"]
    if kind in ("accuracy", "dice"):
        needed = minimum(check, quick)
        mode = " (quick mode)" if quick and "quick_min" in check else ""
        what = "accuracy" if kind == "accuracy" else f"Dice coefficient of class {check.get('label', 1)}"
        return value >= needed, f"{what} {value:.4f} on {describe(check)}, needs at least {needed}{mode}"
    expected = check["expected"]
    if kind == "output_shape":
        ok = value == list(expected)
        return ok, f"output shape {tuple(value)}, expected {tuple(expected)}"
    ok = value == expected
    noun = ("trainable parameters" if check.get("trainable") else "parameters") if kind == "params" else "operations"
    return ok, f"{value:,} {noun}, expected {expected:,}"


def check_model(spec, directory, data_dir=None, quick=False):
    """Run every check of one model spec on `directory/<name>.keras`; one CheckResult per check.

    A missing or unreadable file fails every check with the reason; nothing raises but a problem with the
    grader's own data (FileNotFoundError, `cnnlab.data.DatasetError`), which every student would share.
    """
    path = Path(directory) / f"{spec.name}.keras"
    results = []
    if not path.exists():
        reason = (f"{path.name} is missing: the grader scores the model your notebook saved; run the training "
                  f"cell and submit {path.name} with the notebook")
        return [CheckResult(spec.name, c["check"], c["points"], 0, False, reason) for c in spec.checks]
    try:
        model = _load(path)
    except Exception as error:  # any unreadable file is the submission's problem, not the grader's
        reason = f"{path.name} could not be loaded ({type(error).__name__}: {str(error)[:200]})"
        return [CheckResult(spec.name, c["check"], c["points"], 0, False, reason) for c in spec.checks]
    from cnnlab.data import DatasetError

    for check in spec.checks:
        try:
            ok, message = _verdict(check, measure(model, check, data_dir), quick)
        except (FileNotFoundError, DatasetError):
            raise  # the grader's own data is missing: the instructor must fix it, every student would fail
        except Exception as error:
            ok, message = False, f"{check['check']} could not be measured ({type(error).__name__}: {str(error)[:200]})"
        results.append(CheckResult(spec.name, check["check"], check["points"], check["points"] if ok else 0, ok, message))
    return results
