"""The decisive model checks: run in the grader's process on the `.keras` file a student submitted.

Nothing the notebook did in its kernel (redefining helpers, monkeypatching Keras) reaches this process: the
model is loaded here from the submitted file, with Keras' safe mode (no Python code from the file), and
measured with this process's own Keras and `cnnlab.profile`.
"""

import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


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


def _test_set(spec, data_dir):
    path = Path(spec["test_set"])
    if not path.is_absolute():
        if data_dir is None:
            raise FileNotFoundError(f"the accuracy check needs the grader's test set {spec['test_set']}: "
                                    f"pass --data DIR (or set CNNLAB_DATA_DIR) to the folder that holds it")
        path = Path(data_dir) / path
    with np.load(path) as data:
        return data["x"], data["y"]


def measure(model, check, data_dir):
    """The measured value of one check on a loaded model."""
    kind = check["check"]
    if kind == "params":
        return int(model.count_params())
    if kind == "output_shape":
        return _shape(model.output.shape)
    if kind == "ops":
        from cnnlab.profile import profile

        return int(profile(model, convention=check.get("convention", "deck"), rows="layers").total_ops)
    if kind == "accuracy":
        x, y = _test_set(check, data_dir)
        predictions = model.predict(x, batch_size=check.get("batch_size", 256), verbose=0)
        labels = y.reshape(-1) if y.ndim == 1 or y.shape[-1] == 1 else y.argmax(-1)
        return float(np.mean(predictions.argmax(-1) == labels))
    raise ValueError(f"unknown check {kind!r}")


def _verdict(check, value):
    kind = check["check"]
    if kind == "accuracy":
        ok = value >= check["min"]
        return ok, f"accuracy {value:.4f} on the grader's test set, needs at least {check['min']}"
    expected = check["expected"]
    if kind == "output_shape":
        ok = value == list(expected)
        return ok, f"output shape {tuple(value)}, expected {tuple(expected)}"
    ok = value == expected
    noun = "parameters" if kind == "params" else "operations"
    return ok, f"{value:,} {noun}, expected {expected:,}"


def check_model(spec, directory, data_dir=None):
    """Run every check of one model spec on `directory/<name>.keras`; one CheckResult per check.

    A missing or unreadable file fails every check with the reason; nothing raises.
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
    for check in spec.checks:
        try:
            ok, message = _verdict(check, measure(model, check, data_dir))
        except FileNotFoundError:
            raise  # the grader's own data is missing: the instructor must fix it, every student would fail
        except Exception as error:
            ok, message = False, f"{check['check']} could not be measured ({type(error).__name__}: {str(error)[:200]})"
        results.append(CheckResult(spec.name, check["check"], check["points"], check["points"] if ok else 0, ok, message))
    return results
