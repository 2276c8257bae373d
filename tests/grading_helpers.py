"""Helpers shared by the grader's tests: students' notebooks made from solutions/ and labs/, a tiny model lab."""

import json
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LAB = "lab1_convolution"
SOLUTION = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
RELEASE = ROOT / "labs" / LAB / f"{LAB}.ipynb"


def nbg(cell):
    return cell.metadata.get("nbgrader", {})


def released(lab=LAB):
    return nbformat.read(ROOT / "labs" / lab / f"{lab}.ipynb", as_version=4)


def answered(lab=LAB, source=None, release=None):
    """The release with the solution cells filled in from the solution notebook: what a good student submits."""
    solution = nbformat.read(source or ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    answers = {nbg(c)["grade_id"]: c.source for c in solution.cells if nbg(c).get("solution")}
    nb = nbformat.read(release, as_version=4) if release else released(lab)
    for cell in nb.cells:
        if nbg(cell).get("solution"):
            cell.source = answers[nbg(cell)["grade_id"]]
    return nb


def index_of(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == grade_id)


def write(path, nb_or_bytes):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb_or_bytes, bytes):
        path.write_bytes(nb_or_bytes)
    else:
        nbformat.write(nb_or_bytes, path)
    return path


# -- a tiny lab with a saved model, built in the test's folder --

TINY = "lab0_tiny"


def tiny_model(units=2, hidden=None, sequential=False):
    """Input(4) -> Dense(2): picks the larger of the first two inputs when its weights are `tiny_weights()`."""
    import keras

    if sequential:
        return keras.Sequential([keras.Input((4,), name="input"), keras.layers.Dense(units, name="fc_out")], name=TINY)
    inputs = keras.Input((4,), name="input")
    x = inputs
    if hidden:
        x = keras.layers.Dense(hidden, name="hidden")(x)
    outputs = keras.layers.Dense(units, name="fc_out")(x)
    return keras.Model(inputs, outputs, name=TINY)


def set_tiny_weights(model):
    kernel = np.zeros((4, 2), "float32")
    kernel[0, 0] = kernel[1, 1] = 1.0
    model.get_layer("fc_out").set_weights([kernel, np.zeros(2, "float32")])
    return model


def tiny_test_set(path, n=200):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    np.savez(path, x=x, y=x[:, :2].argmax(1))
    return path


def tiny_config(min_accuracy=0.99):
    return {
        "notebook": f"{TINY}.ipynb",
        "models": [
            {
                "name": TINY,
                "grade_id": "test_model",
                "checks": [
                    {"check": "params", "expected": 10, "points": 1},
                    {"check": "output_shape", "expected": [None, 2], "points": 1},
                    {"check": "ops", "expected": 10, "convention": "deck", "points": 1},
                    {"check": "accuracy", "min": min_accuracy, "test_set": "tiny_test.npz", "points": 1},
                ],
            }
        ],
    }


def _cell(source, grade_id=None, solution=False, grade=False, locked=False, points=None):
    cell = nbformat.v4.new_code_cell(source)
    if grade_id:
        meta = {
            "grade": grade,
            "grade_id": grade_id,
            "locked": locked,
            "schema_version": 3,
            "solution": solution,
            "task": False,
        }
        if points:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    return cell


def tiny_lab(root):
    """A course source `root/solutions/lab0_tiny/` and config `root/labs/lab0_tiny.json`: one model, 4 points."""
    nb = nbformat.v4.new_notebook(
        cells=[
            _cell("import numpy as np\nimport keras\nfrom cnnlab import lab", "setup", locked=True),
            nbformat.v4.new_markdown_cell("**Task 1 (4 points).** Build and train the tiny classifier."),
            _cell(
                "def build():\n    ### BEGIN SOLUTION\n    inputs = keras.Input((4,), name='input')\n"
                "    model = keras.Model(inputs, keras.layers.Dense(2, name='fc_out')(inputs), name='lab0_tiny')\n"
                "    return model\n    ### END SOLUTION",
                "build",
                solution=True,
            ),
            _cell("model = lab.train_or_load('lab0_tiny', build)"),
            _cell(
                "assert model.output.shape[-1] == 2\n### BEGIN HIDDEN TESTS\nassert model.count_params() == 10\n"
                "### END HIDDEN TESTS",
                "test_model",
                grade=True,
                locked=True,
                points=4,
            ),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    write(Path(root) / "solutions" / TINY / f"{TINY}.ipynb", nb)
    (Path(root) / "labs").mkdir(parents=True, exist_ok=True)
    (Path(root) / "labs" / f"{TINY}.json").write_text(json.dumps(tiny_config()))
    return Path(root) / "solutions", Path(root) / "labs"
