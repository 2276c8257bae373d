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


# -- a tiny lab with answers a TA grades, built in the test's folder --

WRITTEN = "lab0_written"
HOSTILE_ANSWER = (
    "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
    "[click](javascript:alert(1)) </textarea></pre><b>bold?</b> & &amp;"
)


def _markdown(source, grade_id=None, points=None):
    cell = nbformat.v4.new_markdown_cell(source)
    if grade_id:
        cell.metadata["nbgrader"] = {
            "grade": True,
            "grade_id": grade_id,
            "locked": False,
            "points": points,
            "schema_version": 3,
            "solution": True,
            "task": False,
        }
    return cell


def written_lab(root):
    """A course source `root/solutions/lab0_written/` and config `root/labs/lab0_written.json`: one test cell
    (1 point, judged by its asserts), a written answer (2 points) and code a TA reads (1 point), with rubrics.
    NumPy only: its kernels start in seconds."""
    reading = _cell(
        "def describe(values):\n    ### BEGIN SOLUTION\n    print('mean', np.mean(values))\n"
        "    return np.mean(values)\n    ### END SOLUTION",
        "describe",
        solution=True,
        grade=True,
        points=1,
    )
    nb = nbformat.v4.new_notebook(
        cells=[
            _cell("import numpy as np", "setup", locked=True),
            nbformat.v4.new_markdown_cell("**Task 1 (1 point).** Write `square(x)`."),
            _cell(
                "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
                "square",
                solution=True,
            ),
            _cell(
                "assert square(3) == 9\n### BEGIN HIDDEN TESTS\nassert square(-4) == 16\n### END HIDDEN TESTS",
                "test_square",
                grade=True,
                locked=True,
                points=1,
            ),
            nbformat.v4.new_markdown_cell("**Written answer (2 points).** Why is a square never negative?"),
            _markdown("A product of two numbers of the same sign is positive, and 0 squared is 0.", "why_square", 2),
            nbformat.v4.new_markdown_cell("**Task 3 (1 point, read by a TA).** Write `describe(values)`."),
            reading,
            _cell("describe([1, 2, 3])"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    write(Path(root) / "solutions" / WRITTEN / f"{WRITTEN}.ipynb", nb)
    (Path(root) / "labs").mkdir(parents=True, exist_ok=True)
    config = {
        "notebook": f"{WRITTEN}.ipynb",
        "manual": [
            {
                "grade_id": "why_square",
                "rubric": [
                    {"points": 1, "criterion": "same signs multiply to a positive number"},
                    {"points": 1, "criterion": "zero: 0 squared is 0"},
                ],
            },
            {"grade_id": "describe", "rubric": [{"points": 1, "criterion": "returns and prints the mean"}]},
        ],
    }
    (Path(root) / "labs" / f"{WRITTEN}.json").write_text(json.dumps(config))
    return Path(root) / "solutions", Path(root) / "labs"


def written_release(source, out):
    """The release of lab0_written that the grader makes from `source` in `out` (as `grade` does first)."""
    from cnnlab.grading.batch.options import Options
    from cnnlab.grading.course import nbgrader as course

    released, _, _ = course.prepare(Options(lab=WRITTEN, submissions=out, out=Path(out), source=Path(source)))
    return nbformat.read(released / f"{WRITTEN}.ipynb", as_version=4)


def written_submission(folder, release, student, why, describe_source=None, square="return x * x"):
    """A student's lab0_written notebook in `folder/<student>/lab0_written/`, the release filled in."""
    nb = nbformat.from_dict(release)
    for cell in nb.cells:
        grade_id = nbg(cell).get("grade_id")
        if grade_id == "square":
            cell.source = f"def square(x):\n    {square}"
        elif grade_id == "why_square":
            cell.source = why
        elif grade_id == "describe":
            cell.source = (
                describe_source
                or "def describe(values):\n    print('mean', np.mean(values))\n    return np.mean(values)"
            )
    return write(Path(folder) / student / WRITTEN / f"{WRITTEN}.ipynb", nb)
