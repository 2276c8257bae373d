"""What the grader checks for a lab beyond its test cells: `autograder/labs/<lab>.json`.

    {
      "notebook": "lab2_convnet.ipynb",
      "models": [
        {"name": "lab2_convnet", "grade_id": "test_trained_model",
         "checks": [
           {"check": "params", "expected": 1199882, "points": 1},
           {"check": "output_shape", "expected": [null, 10], "points": 1},
           {"check": "ops", "expected": 10125762, "convention": "deck", "points": 1},
           {"check": "accuracy", "min": 0.95, "test_set": "mnist_test.npz", "points": 2}]}
      ]
    }

Each model is the file `<name>.keras` the notebook saves next to itself (`cnnlab.lab.train_or_load`). Its
checks run in the grader's own process (`cnnlab.grading.checks`) on the submitted file, and their points
replace the score of the notebook's test cell `grade_id`: they must add up to that cell's points. A lab
without a file, or with `"models": []`, is graded by its test cells alone.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

CHECKS = ("params", "output_shape", "ops", "accuracy")


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

    def to_json(self):
        return {"notebook": self.notebook,
                "models": [{"name": m.name, "grade_id": m.grade_id, "checks": m.checks} for m in self.models]}


def _fail(path, message):
    raise ValueError(f"{path}: {message}")


def parse(lab, data, path="<config>"):
    """A LabConfig from the JSON data of one lab; raises ValueError naming the file and the fix."""
    if not isinstance(data, dict):
        _fail(path, f"expected a JSON object. Received: {type(data).__name__}")
    unknown = set(data) - {"notebook", "models", "comment"}
    if unknown:
        _fail(path, f"unknown keys {sorted(unknown)}; expected notebook, models (and comment)")
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
            needed = {"accuracy": ("min", "test_set")}.get(kind, ("expected",))
            for key in needed:
                if key not in check:
                    _fail(path, f"{where}: check {kind!r} needs {key!r}")
        models.append(ModelSpec(entry["name"], entry["grade_id"], entry["checks"]))
    return LabConfig(lab, data.get("notebook", f"{lab}.ipynb"), models)


def load(lab, config_dir):
    """The lab's config from `config_dir/<lab>.json`, or the default (its notebook `<lab>.ipynb`, no model)."""
    path = Path(config_dir) / f"{lab}.json"
    if not path.exists():
        return LabConfig(lab, f"{lab}.ipynb")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    return parse(lab, data, path)


def check_points(config, graded_cells):
    """Each model's checks must add up to its test cell's points; `graded_cells` maps grade_id -> points."""
    for model in config.models:
        if model.grade_id not in graded_cells:
            raise ValueError(f"{config.lab}: model {model.name!r} replaces the score of test cell {model.grade_id!r}, "
                             f"which the solution notebook does not have. Graded cells: {', '.join(graded_cells)}")
        total = sum(check["points"] for check in model.checks)
        if abs(total - graded_cells[model.grade_id]) > 1e-9:
            raise ValueError(f"{config.lab}: the checks of model {model.name!r} give {total} points, but test cell "
                             f"{model.grade_id!r} is worth {graded_cells[model.grade_id]}: make them equal")
