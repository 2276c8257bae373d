"""What the grader checks for a lab beyond its test cells: `autograder/labs/<lab>.json`.

    {
      "notebook": "lab3_lenet5.ipynb",
      "models": [
        {"name": "lab3_lenet5", "grade_id": "test_lenet5_model",
         "checks": [
           {"check": "params", "expected": 60900, "trainable": true, "points": 0.5},
           {"check": "output_shape", "expected": [null, 10], "points": 0.25},
           {"check": "ops", "expected": 429352, "convention": "deck", "points": 0.25},
           {"check": "accuracy", "dataset": "mnist", "split": "test", "pad_to": 32,
            "min": 0.97, "quick_min": 0.8, "points": 1}]}
      ]
    }

Each model is the file `<name>.keras` the notebook saves next to itself (`cnnlab.lab.train_or_load`). Its
checks run in the grader's own process (`cnnlab.grading.modelcheck.checks`) on the submitted file, and their points
replace the score of the notebook's test cell `grade_id`: they must add up to that cell's points. A lab
without a file, or with `"models": []`, is graded by its test cells alone.

"manual" holds the rubric of each question a TA grades (`cnnlab.grading.course.rubric`); it is not part of what
a job is given, so editing a rubric grades nothing again.

Checks and their keys (`points` > 0 for all):
- `params`: `expected`; `trainable: true` counts the trained weights only (else Keras' count_params).
- `output_shape`: `expected`, with `null` for the batch axis.
- `ops`: `expected`, `convention` (`deck` by default) and `softmax_ops` (`false`: softmax costs 0, as in the
  lecture's first table), as `cnnlab.profile.profile` takes them.
- `accuracy`, `dice`: `min`, optionally `quick_min` (used instead when the grader runs with `--quick`), and the
  images: `dataset` (a name of `cnnlab.data.NAMES`, read from the grader's `--data` folder) with `split`
  (`test` by default, or `val`), `pad_to` (zero-pad to a square, `cnnlab.data.pad`) and `limit` (the first N
  images); or `test_set`, an npz file in the `--data` folder holding `x` and `y` (a test set that is not a
  course dataset). `dice` also takes `label` (the class, default 1). `batch_size` sets the prediction batch.
  How the images change for each batch (`cnnlab.grading.modelcheck.images`): `shift` (whole pixels, up to this
  many along each axis), `noise` (grey levels, the standard deviation) and `flips` (true: the 8 symmetries of the
  square, for isotropic images); a check on a course dataset must say how much (0 for none), since its images are
  public.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.grading.errors import GradingError

_SCORED = {
    "min",
    "quick_min",
    "dataset",
    "split",
    "pad_to",
    "limit",
    "test_set",
    "batch_size",
    "shift",
    "noise",
    "flips",
}
CHECKS = {  # the keys each check may have, besides "check" and "points"
    "params": {"expected", "trainable"},
    "output_shape": {"expected"},
    "ops": {"expected", "convention", "softmax_ops"},
    "accuracy": _SCORED,
    "dice": _SCORED | {"label"},
}
SPLITS = ("test", "val")


@dataclass
class ModelSpec:
    name: str
    grade_id: str
    checks: list


@dataclass
class LabConfig:
    lab: str
    notebook: str
    models: list = field(default_factory=list)
    manual: dict = field(default_factory=dict)  # grade_id: its `course.rubric.Rubric` (a TA's, not a job's)

    def to_json(self):
        return {
            "notebook": self.notebook,
            "models": [{"name": m.name, "grade_id": m.grade_id, "checks": m.checks} for m in self.models],
        }


def _fail(path, message):
    raise GradingError(f"{path}: {message}")


def parse(lab, data, path="<config>"):
    """A LabConfig from the JSON data of one lab; raises GradingError naming the file and the fix."""
    if not isinstance(data, dict):
        _fail(path, f"expected a JSON object. Received: {type(data).__name__}")
    unknown = set(data) - {"notebook", "models", "manual", "comment"}
    if unknown:
        _fail(path, f"unknown keys {sorted(unknown)}; expected notebook, models, manual (and comment)")
    models = []
    for index, entry in enumerate(data.get("models", [])):
        where = f"models[{index}]"
        for key in ("name", "grade_id", "checks"):
            if key not in entry:
                _fail(path, f"{where} needs {key!r}. Received keys: {sorted(entry)}")
        for check in entry["checks"]:
            kind = check.get("check")
            if kind not in CHECKS:
                _fail(path, f"{where}: unknown check {kind!r}; known: {', '.join(CHECKS)}")
            if not isinstance(check.get("points"), (int, float)) or check["points"] <= 0:
                _fail(path, f"{where}: check {kind!r} needs positive 'points'. Received: {check.get('points')!r}")
            unknown = set(check) - CHECKS[kind] - {"check", "points"}
            if unknown:
                _fail(
                    path,
                    f"{where}: check {kind!r} has unknown keys {sorted(unknown)}; it takes "
                    f"{', '.join(sorted(CHECKS[kind]))}",
                )
            needed = ("min",) if kind in ("accuracy", "dice") else ("expected",)
            for key in needed:
                if key not in check:
                    _fail(path, f"{where}: check {kind!r} needs {key!r}")
            if kind in ("accuracy", "dice") and ("dataset" in check) == ("test_set" in check):
                _fail(
                    path,
                    f"{where}: check {kind!r} needs either 'dataset' (a course dataset) or 'test_set' "
                    f"(an npz file), not {'both' if 'dataset' in check else 'neither'}",
                )
            if kind in ("accuracy", "dice"):
                _check_changes(path, where, kind, check)
            if check.get("split", "test") not in SPLITS:
                _fail(
                    path,
                    f"{where}: check {kind!r}: split must be one of {', '.join(SPLITS)}. Received: {check['split']!r}",
                )
        models.append(ModelSpec(entry["name"], entry["grade_id"], entry["checks"]))
    from cnnlab.grading.course import rubric

    return LabConfig(lab, data.get("notebook", f"{lab}.ipynb"), models, rubric.parse(data.get("manual", []), path))


def _check_changes(path, where, kind, check):
    """How an accuracy or dice check's images change: its keys' types, and present on a course dataset."""
    shift, noise, flips = check.get("shift", 0), check.get("noise", 0), check.get("flips", False)
    if (
        type(shift) is not int
        or shift < 0
        or not isinstance(noise, (int, float))
        or noise < 0
        or type(flips) is not bool
    ):
        _fail(
            path,
            f"{where}: check {kind!r}: shift is a whole number of pixels >= 0, noise a number of grey levels >= 0, "
            f"flips true or false. Received: shift={shift!r}, noise={noise!r}, flips={flips!r}",
        )
    if "dataset" in check and not {"shift", "noise"} <= set(check):
        _fail(
            path,
            f"{where}: check {kind!r} measures the public {check['dataset']!r} images, which a model could have "
            f"memorized: give 'shift' and 'noise' (how much they change for each batch; 0 for none)",
        )


def load(lab, config_dir):
    """The lab's config from `config_dir/<lab>.json`, or the default (its notebook `<lab>.ipynb`, no model)."""
    path = Path(config_dir) / f"{lab}.json"
    if not path.exists():
        return LabConfig(lab, f"{lab}.ipynb")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise GradingError(f"{path}: not valid JSON ({error})") from None
    return parse(lab, data, path)


def check_points(config, graded_cells):
    """Each model's checks must add up to its test cell's points; `graded_cells` maps grade_id -> points."""
    for model in config.models:
        if model.grade_id not in graded_cells:
            raise GradingError(
                f"{config.lab}: model {model.name!r} replaces the score of test cell {model.grade_id!r}, "
                f"which the solution notebook does not have. Graded cells: {', '.join(graded_cells)}"
            )
        total = sum(check["points"] for check in model.checks)
        if abs(total - graded_cells[model.grade_id]) > 1e-9:
            raise GradingError(
                f"{config.lab}: the checks of model {model.name!r} give {total} points, but test cell "
                f"{model.grade_id!r} is worth {graded_cells[model.grade_id]}: make them equal"
            )


def data_files(check):
    """The files of the grader's data folder that a check reads (none for params, output_shape and ops)."""
    if check["check"] not in ("accuracy", "dice"):
        return []
    return [check["test_set"]] if "test_set" in check else [f"{check['dataset']}.npz"]


def missing_data(config, data_dir):
    """What the accuracy and dice checks of `config` need from the grader's data folder and do not find there
    (a sentence), or "" when everything is there. Checked before grading: every submission would fail alike."""
    names = sorted({name for model in config.models for check in model.checks for name in data_files(check)})
    if not names:
        return ""
    if data_dir is None:
        return f"no data folder was given (they need {', '.join(names)})"
    absent = [name for name in names if not (Path(data_dir) / name).is_file()]
    return f"{Path(data_dir)} lacks {', '.join(absent)}" if absent else ""
