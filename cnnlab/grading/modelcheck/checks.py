"""The decisive model checks: each submitted `.keras` file measured in a fresh jailed process, judged here.

`run_model(spec, directory, data_dir, quick, sandbox)`, for one model of a lab's config:

1. `cnnlab.grading.modelfile.inspect` checks the archive, its config.json (allow-list, connected layers) and
   its weights (h5py) in this process, without Keras; a refused file fails every check with the reason;
2. a fresh child of the sandbox's model server (`cnnlab.grading.modelcheck.server`: a process in
   `cnnlab.grading.jail.bwrap`'s
   jail, with the sandbox's memory, CPU, process and time limits, that imported Keras once and forks a child per
   model file) loads that one file with Keras' safe mode, counts its parameters and operations, reads its output
   shape, and predicts the grader's test images (never the labels; `--data DIR`, read here with
   `cnnlab.data.load_split(name, split, DIR)`, then changed for this batch as the lab's config says:
   `cnnlab.grading.modelcheck.images`), writing JSON and `.npy`, and exits;
3. here: the thresholds, accuracy, Dice and points. One process never loads two students' models, and nothing
   a model does (a config that calls Keras functions, a bomb) reaches this process or the next student. The
   accuracy and Dice points go only to a model whose architecture checks (params, output shape, ops) all pass:
   a lookup table of the test images, however well it scores, is not the lab's network.

Predictions: an output with one channel is thresholded at 0.5 (a sigmoid), a wider one gives its argmax. On a
spatial output (a segmentation model, `(None, H, W, C)`) "accuracy" is the share of pixels labelled right and
"dice" the Dice coefficient of one class over every pixel of the split.
"""

import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from cnnlab.grading.course.labconfig import data_files
from cnnlab.grading.jail import bwrap as jails
from cnnlab.grading.modelcheck.images import KEYS as CHANGES
from cnnlab.grading.modelcheck.images import changed, changes_of
from cnnlab.grading.modelcheck.inspection import RefusedModel, inspect
from cnnlab.grading.modelcheck.server import ModelServer
from cnnlab.lab import quick_mark

MODEL_TIMEOUT = 300  # seconds per model check (load, count, predict) before it is stopped
MAX_PROBE_JSON = 2**20
ARCHITECTURE = ("params", "output_shape", "ops")  # the checks an accuracy or Dice check's points depend on
SOURCE = ("test_set", "dataset", "split", "pad_to", "limit") + CHANGES  # what makes a check's images
# With --quick (models trained in quick mode, which checks code, not the bar) an accuracy or Dice check reads the
# first this many of its test images: a bar of quick mode is far below what a quick model of the lab's network
# reaches, and predicting the whole test set is most of a quick submission's model checks.
QUICK_IMAGES = 2000


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


def describe(check):
    """Where a check's images come from, for the messages: `mnist test, padded to 32x32`."""
    if "test_set" in check:
        return f"the grader's test set {check['test_set']}"
    text = f"{check['dataset']} {check.get('split', 'test')}"
    if "pad_to" in check:
        text += f", padded to {check['pad_to']}x{check['pad_to']}"
    if "limit" in check:
        text += f", first {check['limit']:,} images"
    changes = changes_of(check)
    done = [f"shifted by up to {changes['shift']} pixels"] if changes["shift"] else []
    done += ["flipped or turned"] if changes["flips"] else []
    done += [f"with noise of {changes['noise']:g} grey levels"] if changes["noise"] else []
    return text + (f" ({', '.join(done)}: changed for this batch)" if done else "")


def evaluation_set(check, data_dir, seed=0):
    """(images, labels) of an accuracy or dice check, as the lab feeds them: uint8, with a channel axis; changed
    as the check's config says, drawn from `seed` (the grader's: `cnnlab.grading.secret.images_seed`)."""
    if data_dir is None:
        raise FileNotFoundError(
            f"the {check['check']} check needs the grader's data ({', '.join(data_files(check))}): "
            f"pass --data DIR (or set CNNLAB_DATA_DIR) to the folder that holds it"
        )
    source = {k: check[k] for k in SOURCE if k in check}
    return _evaluation_set(str(Path(data_dir).resolve()), json.dumps(source, sort_keys=True), seed)


@functools.lru_cache(maxsize=4)  # a worker grades many submissions of one lab: the data is read once
def _evaluation_set(data_dir, source, seed):
    x, y = _read_set(data_dir, json.loads(source))
    changes = changes_of(json.loads(source))
    if not any(changes.values()):
        return x, y
    stream = int.from_bytes(hashlib.sha256(source.encode()).digest()[:8], "big")  # each check its own draws
    return changed(x, y, changes, [seed, stream])


def _read_set(data_dir, source):
    if "test_set" in source:
        path = Path(source["test_set"])
        path = path if path.is_absolute() else Path(data_dir) / path
        with np.load(path) as arrays:
            return arrays["x"], arrays["y"]
    from cnnlab.data import load_split, pad

    x, y = load_split(source["dataset"], source.get("split", "test"), data_dir)
    if "limit" in source:
        x, y = x[: source["limit"]], y[: source["limit"]]
    if "pad_to" in source:
        x = pad(x, source["pad_to"])
    if x.ndim == 3:
        x = x[..., None]
    return x, y


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


@dataclass
class ModelSandbox:
    """Where and how model checks run: the jail, its limits, the folder for the checks' files, and the jailed
    model server (`cnnlab.grading.modelcheck.server`) that runs them."""

    jail: jails.Jail
    memory_mb: int = 8192
    timeout_s: float = MODEL_TIMEOUT
    processes: int = 1024
    work: str | None = None  # the checks' folders and the test images (.npy); default: a temporary folder
    server: ModelServer = field(init=False, repr=False)

    def __post_init__(self):
        self.server = ModelServer(self)

    def folder(self):
        if self.work is None:
            self.work = tempfile.mkdtemp(prefix="cnnlab-models-")
        return self.work


@functools.lru_cache(maxsize=1)
def default_sandbox():
    """This machine's jail with the default limits (JailError without one)."""
    return ModelSandbox(jails.probe())


@dataclass
class ModelRun:
    """One model's check: `outcome` is measured, missing, refused, unloadable, crashed or timeout."""

    model: str
    outcome: str
    seconds: float
    reason: str
    results: list

    def to_json(self):
        return {"model": self.model, "outcome": self.outcome, "seconds": self.seconds, "reason": self.reason}


def check_model(spec, directory, data_dir=None, quick=False, sandbox=None, images_seed=0):
    """Run every check of one model spec on `directory/<name>.keras`; one CheckResult per check."""
    return run_model(spec, directory, data_dir, quick, sandbox, images_seed).results


def run_model(spec, directory, data_dir=None, quick=False, sandbox=None, images_seed=0):
    """The ModelRun of one model spec on `directory/<name>.keras` (see the module's docstring); its accuracy and
    Dice checks measure the test images changed with `images_seed`.

    A missing, refused or unloadable file fails every check with the reason; nothing raises but a problem with
    the grader's own data (FileNotFoundError, `cnnlab.data.DatasetError`) or a jail that did not start
    (`model_server.GraderFault`), which every student would share. Whatever the jailed check wrote that cannot
    be read or judged fails that check, with the reason.
    """
    sandbox = sandbox or default_sandbox()
    if quick:
        spec = replace(spec, checks=[quick_images(check) for check in spec.checks])
    path = Path(directory) / f"{spec.name}.keras"
    started = time.monotonic()

    def failed(outcome, reason):
        results = [CheckResult(spec.name, c["check"], c["points"], 0, False, reason) for c in spec.checks]
        return ModelRun(spec.name, outcome, round(time.monotonic() - started, 3), reason, results)

    if not path.exists():
        return failed(
            "missing",
            f"{path.name} is missing: the grader scores the model your notebook saved; run the "
            f"training cell and submit {path.name} with the notebook",
        )
    folder = Path(tempfile.mkdtemp(prefix=f"{spec.name}-", dir=sandbox.folder()))
    try:
        expected = next((c["expected"] for c in spec.checks if c["check"] == "params"), None)
        try:
            inspect(path, expected, scratch=folder)
        except RefusedModel as error:
            return failed("refused", f"{path.name} could not be loaded: the grader refused it before loading ({error})")
        measures = _measures(spec, data_dir, sandbox, images_seed)
        probe, reason = sandbox.server.check(path, measures)
        if probe is None:
            return failed(
                "timeout" if "longer than" in reason else "crashed", f"{path.name} could not be loaded: {reason}"
            )
        if probe.get("load_error"):
            return failed("unloadable", f"{path.name} could not be loaded ({str(probe['load_error'])[:400]})")
        values = probe.get("values")
        if not isinstance(values, list) or len(values) != len(spec.checks):
            return failed(
                "crashed", f"{path.name}: the model check returned {len(values or [])} of {len(spec.checks)} values"
            )
        labels = [  # the grader's own data: a problem here is every student's (raised, not judged)
            evaluation_set(c, data_dir, images_seed)[1] if c["check"] in ("accuracy", "dice") else None
            for c in spec.checks
        ]
        results = [
            _judge(check, value, probe["outputs"], y, quick)
            for check, value, y in zip(spec.checks, values, labels, strict=False)
        ]
        return ModelRun(
            spec.name, "measured", round(time.monotonic() - started, 3), "", _scored(spec, results, quick, directory)
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def quick_images(check):
    """The check as --quick runs it: an accuracy or Dice check on at most `QUICK_IMAGES` test images."""
    if check["check"] not in ("accuracy", "dice") or "test_set" in check:
        return check
    return {**check, "limit": min(check.get("limit", QUICK_IMAGES), QUICK_IMAGES)}


def _scored(spec, results, quick, directory):
    """The CheckResults of one measured model from each check's (passed, message): an accuracy or Dice check
    scores only when every architecture check passed too."""
    failed = [
        c["check"] for c, (ok, _) in zip(spec.checks, results, strict=False) if c["check"] in ARCHITECTURE and not ok
    ]
    missed = "" if quick else _bar_hint(spec.name, directory)  # said after an accuracy or Dice bar it misses
    scored = []
    for check, (ok, message) in zip(spec.checks, results, strict=False):
        if check["check"] in ("accuracy", "dice"):
            if not ok:
                message += missed
            elif failed:
                ok = False
                message += (
                    f"; not awarded: its points go to the lab's network only, and this model's "
                    f"{', '.join(name.replace('_', ' ') for name in failed)} differ"
                )
        scored.append(
            CheckResult(spec.name, check["check"], check["points"], check["points"] if ok else 0, ok, message)
        )
    return scored


def _measures(spec, data_dir, sandbox, seed):
    """The probe's measures (no thresholds, no labels; for predictions, the file of the test images)."""
    measures = []
    for check in spec.checks:
        kind = check["check"]
        if kind in ("accuracy", "dice"):
            measures.append(
                {
                    "kind": "outputs",
                    "images": _images_file(check, data_dir, sandbox, seed),
                    "batch_size": check.get("batch_size"),
                }
            )
        elif kind in ("params", "output_shape", "ops"):
            measures.append(
                {"kind": kind, **{k: check[k] for k in ("trainable", "convention", "softmax_ops") if k in check}}
            )
        else:
            raise ValueError(f"unknown check {kind!r}")
    return measures


def _images_file(check, data_dir, sandbox, seed):
    """The check's test images as a read-only .npy in the sandbox's folder, written once (by any worker)."""
    key = hashlib.sha256(
        json.dumps([str(data_dir), {k: check.get(k) for k in SOURCE}, seed], sort_keys=True).encode()
    ).hexdigest()[:16]
    target = Path(sandbox.folder()) / "images" / f"{key}.npy"
    if not target.exists():
        x, _ = evaluation_set(check, data_dir, seed)
        target.parent.mkdir(mode=0o755, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        with open(partial, "wb") as file:
            np.save(file, x, allow_pickle=False)
        partial.chmod(0o444)
        partial.replace(target)
    return str(target)


def _bar_hint(name, directory):
    """What a model that misses its accuracy or Dice bar is told about quick mode: whether its mark came with it."""
    mark = quick_mark(name, directory)
    if os.path.lexists(mark):  # only its name is read: the file is the student's
        return (
            f"; {mark.name} came with it: it was trained in quick mode, which checks code only. Train it in full "
            f"mode and hand in that model"
        )
    return "; a model trained in quick mode does not reach this bar: hand in one from a full run"


def _judge(check, value, outputs, y, quick):
    """(passed, message) of one check from the probe's plain value and `outputs` ({name: .npy bytes}), validated:
    the probe ran untrusted code, and whatever it wrote that cannot be judged fails this check. `y`: the labels of
    an accuracy or Dice check."""
    kind = check["check"]
    if isinstance(value, dict) and "error" in value:
        return False, f"{kind} could not be measured ({str(value['error'])[:200]})"
    try:
        if kind in ("accuracy", "dice"):
            name = value.get("outputs", "") if isinstance(value, dict) else ""
            if name not in outputs:
                raise ValueError("the model check returned no outputs")
            from cnnlab.train.metrics import classes_of, dice

            outputs = np.load(io.BytesIO(outputs[name]), allow_pickle=False)
            if outputs.dtype != np.float32 or outputs.ndim < 2:
                raise ValueError(f"outputs of shape {outputs.shape} and type {outputs.dtype}")
            predicted = classes_of(outputs)
            if kind == "accuracy":
                value = accuracy(predicted, y)
            else:
                value = dice(_labels(y, predicted.shape), predicted, check.get("label", 1))
        elif kind == "output_shape":
            if not (isinstance(value, list) and all(d is None or type(d) is int for d in value)):
                raise ValueError(f"output shape {str(value)[:80]}")
        elif type(value) is not int:
            raise ValueError(f"{kind} {str(value)[:80]}")
        return _verdict(check, value, quick)
    except Exception as error:  # noqa: BLE001 (the jailed check's data)
        return False, f"{kind} could not be measured ({type(error).__name__}: {str(error)[:200]})"
