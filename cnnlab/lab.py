"""What every lab notebook shares: the set-up cell and its report, quick mode, grading mode, the saved models,
the lab's working folder (Google Drive in Colab), and the hand-in cell `submit`.

A lab's first cell is `setup_cell_source(lab, install)` and its last `submit_cell_source(...)`, written there by
`make labs` (autograder/make_labs.py) from the course configuration (autograder/course.toml). Two environment
variables steer a notebook (`setup(quick=True)` sets the first from inside a notebook, as Colab needs):

- `CNNLAB_QUICK=1`: quick mode; `pick(full=..., quick=...)` returns the small value (data, epochs),
  so a whole solution notebook runs on a laptop CPU in minutes. The tests set it. Without it, a lab
  that is too slow for a CPU can give `pick` a `cpu=...` budget, used when no GPU/TPU is found.
- `CNNLAB_GRADING=1`: the grader runs the notebook; `train_or_load` loads the model the student
  saved next to the notebook instead of training again.
"""

import json
import os
import platform
import sys
import zipfile
from pathlib import Path

QUICK_ENV = "CNNLAB_QUICK"
GRADING_ENV = "CNNLAB_GRADING"
DRIVE_MOUNT = "/content/drive"
DRIVE_FOLDER = "MyDrive/cnnlab"  # in Colab each lab works in <Drive>/cnnlab/<lab>/ when Drive is mounted
_state = {"lab": None, "training": None}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _flag(name):
    value = os.environ.get(name, "")
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ValueError(f"{name} should be 1 or 0 (also true/false, yes/no, on/off). Received: {name}={value!r}")


def quick_mode():
    """True when CNNLAB_QUICK is set: shrink data and epochs so the notebook runs in minutes on a CPU."""
    return _flag(QUICK_ENV)


def grading_mode():
    """True when CNNLAB_GRADING is set: the grader evaluates saved models and never trains."""
    return _flag(GRADING_ENV)


def pick(full, quick, cpu=None):
    """`quick` in quick mode, else `cpu` (when given) on a machine without a GPU/TPU, else `full`.

    `EPOCHS = lab.pick(full=30, cpu=3, quick=1)`: 30 epochs on a GPU, 3 on a laptop CPU, 1 in quick mode.
    """
    if quick_mode():
        return quick
    if cpu is not None and not has_accelerator():
        return cpu
    return full


def in_colab():
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


def setup_cell_source(lab, install):
    """The text of a lab's first cell: in Colab pip-install the course's pinned cnnlab (`install`, a pip
    requirement), then `lab.setup(lab)`. Plain pip keeps what Colab ships (TensorFlow, Keras, NumPy): cnnlab's
    dependencies are lower bounds that Colab satisfies, so pip installs cnnlab alone."""
    return (
        "# Set-up. In Colab (pick a GPU first: Runtime > Change runtime type) this installs the course's cnnlab and\n"
        "# offers to keep your work in Google Drive. In a local Jupyter with cnnlab installed, nothing is installed.\n"
        "import subprocess, sys\n"
        'if "google.colab" in sys.modules:\n'
        f'    subprocess.run([sys.executable, "-m", "pip", "install", "-q", {install!r}], check=True)\n'
        "from cnnlab import lab\n"
        f"lab.setup({lab!r})  # lab.setup(quick=True) in a new cell: quick mode, small data and epochs"
    )


def submit_cell_source(lab, models, hidden_tests, hidden_points, model_points):
    """The text of a lab's last cell: `lab.submit(...)` with what the lab hands in and what the grader still runs."""
    return (
        "# Hand in: write your student id below (letters, digits, '.', '_' or '-'), run this cell, and upload the\n"
        "# zip it writes. It checks your saved models and visible tests first.\n"
        'STUDENT_ID = ""\n'
        f"lab.submit({lab!r}, STUDENT_ID, models={list(models)!r}, hidden_tests={hidden_tests}, "
        f"hidden_points={hidden_points:g}, model_points={model_points:g})"
    )


def has_accelerator():
    """True when the Keras backend sees a GPU or TPU."""
    import keras

    return bool(_accelerators(keras.backend.backend()))


def _accelerators(backend):
    """Names of the GPUs/TPUs the Keras backend sees, and makes TensorFlow grow GPU memory on demand."""
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # already initialized: the setting only applies before first use
                pass
        return [gpu.name for gpu in gpus]
    if backend == "jax":
        import jax

        return [str(device) for device in jax.devices() if device.platform != "cpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def setup(lab=None, quick=None, drive=True, verbose=True):
    """Report where the notebook runs (Colab or local), the Keras backend, accelerators and modes.

    `lab` names the lab (its working folder in Drive; later calls keep it). `quick=True/False` switches quick
    mode for this kernel (not in grading mode: there the grader decides). In Colab, `drive=True` mounts Google
    Drive (Colab asks for permission) and works in `<Drive>/cnnlab/<lab>/`, so saved models and training
    checkpoints outlive the runtime; locally the working folder stays the notebook's. Returns the report as a
    dict; prints it unless `verbose=False`. In Colab without a GPU it says how to get one. TensorFlow is imported
    without its C++ start-up log (`cnnlab.startup.quiet_tensorflow`).
    """
    from cnnlab import startup

    startup.quiet_tensorflow()
    import keras

    import cnnlab

    if lab is not None:
        _state["lab"] = lab
    notes = []
    if quick is not None:
        if grading_mode():
            notes.append(f"setup(quick={quick}) ignored: in grading mode the grader sets quick mode.")
        else:
            os.environ[QUICK_ENV] = "1" if quick else "0"
    if in_colab() and not grading_mode():
        notes.append(_colab_working_folder(drive))
    backend = keras.backend.backend()
    devices = _accelerators(backend)
    report = {
        "where": "Colab" if in_colab() else "local",
        "python": platform.python_version(),
        "cnnlab": cnnlab.__version__,
        "keras": keras.__version__,
        "backend": backend,
        "backend_version": _backend_version(backend),
        "numpy": _version("numpy"),
        "accelerators": devices,
        "quick": quick_mode(),
        "grading": grading_mode(),
        "folder": os.getcwd(),
    }
    if verbose:
        print(
            f"Running {report['where']}: Python {report['python']}, cnnlab {report['cnnlab']}, "
            f"Keras {report['keras']} on {backend} {report['backend_version']}, NumPy {report['numpy']}."
        )
        print(f"Accelerators: {', '.join(devices) if devices else 'none, the CPU will do the work'}.")
        print(
            f"Quick mode ({QUICK_ENV}): {'on' if report['quick'] else 'off'}; "
            f"grading mode ({GRADING_ENV}): {'on' if report['grading'] else 'off'}."
        )
        print(f"Working folder (saved models, checkpoints): {report['folder']}")
        for note in notes:
            print(note)
        if not devices and in_colab():
            print("No GPU: choose Runtime > Change runtime type > GPU, then run this cell again.")
        elif not devices and not report["quick"]:
            print(
                "Training labs are slow on a CPU: lab.setup(quick=True) checks your code with a small run; the "
                "models you hand in must come from a full run."
            )
        if report["quick"] and not report["grading"]:
            print(
                "Quick mode checks your code with small data and few epochs. The grader holds the models you hand "
                "in to the full bars: train them again in full mode (lab.setup(quick=False)) before handing in."
            )
    return report


def _version(package):
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _backend_version(backend):
    return _version({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend, backend))


def _colab_working_folder(drive):
    """Mount Google Drive (unless `drive=False`) and make `<Drive>/cnnlab/<lab>/` the working folder; a sentence."""
    lost = "it is lost when the runtime disconnects; save your models elsewhere before closing"
    if not drive:
        return f"Google Drive not mounted (drive=False): work stays in {os.getcwd()}, and {lost}."
    from google.colab import drive as colab_drive

    try:
        colab_drive.mount(DRIVE_MOUNT)
    except Exception as error:  # declined or unavailable: work stays in the runtime
        return f"Google Drive not mounted ({error}): work stays in {os.getcwd()}, and {lost}."
    folder = Path(DRIVE_MOUNT) / DRIVE_FOLDER / (_state["lab"] or "work")
    folder.mkdir(parents=True, exist_ok=True)
    os.chdir(folder)
    return f"Google Drive mounted: saved models and checkpoints go to {folder} and survive a disconnect."


def model_path(name, directory=None):
    """Where the trained model `name` lives: `<name>.keras` next to the notebook (the working directory)."""
    return Path(directory if directory is not None else os.getcwd()) / f"{name}.keras"


QUICK_MODEL = (
    "trained in quick mode: it checks your code only. The grader holds the models you hand in to the "
    "full bars: train it in full mode (lab.setup(quick=False)) before handing in."
)


def quick_mark(name, directory=None):
    """`<name>.quick` next to the saved model: there while the model comes from a quick-mode run, so that a full run
    trains it again, and its tests, `submit` and the grader say so."""
    return model_path(name, directory).with_suffix(".quick")


def save_model(model, name, directory=None):
    """Save `model` as `<name>.keras` next to the notebook (marked when quick mode trained it); returns its path."""
    path = model_path(name, directory)
    model.save(path)
    mark = quick_mark(name, directory)
    if quick_mode():
        mark.write_text(QUICK_MODEL + "\n")
        print(f"Saved {model.name} to {path}, {QUICK_MODEL}")
    else:
        mark.unlink(missing_ok=True)
        print(f"Saved {model.name} to {path}")
    return path


def load_model(name, directory=None):
    """Load the model saved by `save_model`; a missing file says which cell creates it."""
    import keras

    path = model_path(name, directory)
    if not path.exists():
        raise FileNotFoundError(
            f"no trained model at {path}. The grader evaluates the model you trained and saved: run the "
            f"training cell (it saves {path.name} next to the notebook) and submit that file with the notebook."
        )
    if quick_mark(name, directory).exists():
        print(f"{path.name}: {QUICK_MODEL}")
    return keras.saving.load_model(path)


def backup():
    """A `keras.callbacks.BackupAndRestore` for the model `train_or_load` is training: pass it to `fit`
    (`callbacks=[lab.backup()]`), and a training cell run again after a disconnect resumes from its last epoch.
    Its checkpoint lives in the working folder (`.backup-<name>/`) and is deleted when training ends."""
    import keras

    name = _state["training"]
    if name is None:
        raise RuntimeError(
            "lab.backup() belongs inside the training function given to lab.train_or_load(name, "
            "train): it names the checkpoint after the model being trained."
        )
    return keras.callbacks.BackupAndRestore(backup_dir=str(Path(os.getcwd()) / f".backup-{name}"))


def _architecture_mismatch(model, build):
    """Why `model` does not have the architecture `build()` makes ("" when it does): trainable weights' shapes."""
    expected = build()
    shapes = [tuple(w.shape) for w in model.trainable_weights]
    wanted = [tuple(w.shape) for w in expected.trainable_weights]
    if shapes != wanted:
        return f"its trainable weights have shapes {shapes}, the network now builds {wanted}"
    if tuple(model.output.shape) != tuple(expected.output.shape):
        return f"its output shape is {tuple(model.output.shape)}, the network now gives {tuple(expected.output.shape)}"
    return ""


def train_or_load(name, train, directory=None, build=None, retrain=False):
    """The model `name`: in grading mode the saved one, never trained; else a saved one that still fits, else
    `train()` saved as `<name>.keras`.

    A saved model is reused (after a disconnect, or when the notebook runs again) unless `retrain=True`. With
    `build` (a function returning the untrained network) it is reused only when its architecture matches.
    """
    if grading_mode():
        model = load_model(name, directory)
        print(f"Grading mode: loaded {model_path(name, directory)}; not training.")
        return model
    path = model_path(name, directory)
    if path.exists() and not retrain:
        import keras

        try:
            model = keras.saving.load_model(path)
            reason = _architecture_mismatch(model, build) if build is not None else ""
        except Exception as error:  # a file from an interrupted save, or another Keras: train again
            reason = f"it does not load ({type(error).__name__}: {error})"
        if not reason and not quick_mode() and quick_mark(name, directory).exists():
            reason = "it comes from a quick-mode run, and the models you hand in must come from a full run"
        if not reason:
            print(f"Reusing {path} (trained earlier); lab.train_or_load(..., retrain=True) trains again.")
            return model
        print(f"Training again: {path.name} does not fit, {reason}.")
    _state["training"] = name
    try:
        model = train()
    finally:
        _state["training"] = None
    save_model(model, name, directory)
    return model


# -- hand-in --


def _notebook_json(lab, directory):
    """(notebook dict or None, where it came from or why it is missing): in Colab the running notebook, locally
    the saved `<lab>.ipynb` of the notebook's folder."""
    if in_colab():
        from google.colab import _message

        reply = _message.blocking_request("get_ipynb", request="", timeout_sec=120)
        if not reply or "ipynb" not in reply:
            return None, "Colab did not hand over the running notebook (get_ipynb): run this cell again."
        return reply["ipynb"], "the running notebook"
    path = Path(directory) / f"{lab}.ipynb"
    if not path.exists():
        return None, (
            f"no notebook {path}: the hand-in packs {lab}.ipynb from the notebook's folder. Save the "
            f"notebook under that name (File > Save As) and run this cell again."
        )
    return json.loads(path.read_text()), f"{path} as last saved (save with Ctrl+S before this cell)"


def _visible_tests(nb):
    """{grade_id: "passed" | "failed (Error: ...)" | "not run"} of the notebook's test cells, from their outputs."""
    results = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade") or meta.get("solution"):  # (a graded answer is a TA's: `_written_answers`)
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.get("execution_count") is None and not cell.get("outputs"):
            results[meta["grade_id"]] = "not run"
        elif errors:
            results[meta["grade_id"]] = f"failed ({errors[0].get('ename')}: {str(errors[0].get('evalue'))[:80]})"
        else:
            results[meta["grade_id"]] = "passed"
    return results


def _written_answers(nb):
    """{grade_id: (points, answered)} of the notebook's answers a TA grades (nbgrader's graded answer cells)."""
    found = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and meta.get("solution"):
            text = "".join(cell.get("source", "")).strip()
            found[meta["grade_id"]] = (meta.get("points", 0), bool(text) and text != "YOUR ANSWER HERE")
    return found


def _check_model(name, directory):
    """(ok, sentence) for the saved model `name`: present, loads, its parameters and output shape."""
    import keras

    path = model_path(name, directory)
    if not path.exists():
        return False, f"{path.name}: missing. Run the cell that trains it (lab.train_or_load({name!r}, ...))."
    try:
        model = keras.saving.load_model(path)
    except Exception as error:
        return False, (
            f"{path.name}: does not load ({type(error).__name__}: {str(error)[:120]}). "
            f"Train it again: lab.train_or_load({name!r}, ..., retrain=True)."
        )
    sentence = f"{path.name}: loads; {model.count_params():,} parameters, output shape {tuple(model.outputs[0].shape)}."
    if quick_mark(name, directory).exists():
        sentence += f" But it was {QUICK_MODEL}"
    return True, sentence


def submit(lab, student, models=(), hidden_tests=0, hidden_points=0, model_points=0, directory=None):
    """Check what the lab hands in and pack it as `<student>_<lab>.zip` (the notebook and its saved models), in the
    layout `cnnlab grade` reads (`<student>/<lab>/...`). In Colab the zip is also downloaded.

    Prints what it found: each model (present, loads), the visible tests' results as the notebook shows them,
    and what the grader runs on top. Writes no zip while `student` is empty or a model is missing or broken.
    Returns `{"zip": path or None, "problems": [...], "tests": {...}, "models": {...}}`. In grading mode it does
    nothing.
    """
    if grading_mode():
        print("Grading mode: nothing to hand in.")
        return {"zip": None, "problems": [], "tests": {}, "models": {}}
    directory = Path(directory if directory is not None else os.getcwd())
    problems, found = [], {}
    for name in models:
        ok, sentence = _check_model(name, directory)
        found[name] = sentence
        print(("ok      " if ok else "PROBLEM ") + sentence)
        if not ok:
            problems.append(sentence)
    nb, source = _notebook_json(lab, directory)
    tests = _visible_tests(nb) if nb is not None else {}
    if nb is None:
        problems.append(source)
        print("PROBLEM " + source)
    else:
        passed = sum(status == "passed" for status in tests.values())
        print(f"Visible tests ({source}): {passed} of {len(tests)} passed.")
        for grade_id, status in tests.items():
            if status != "passed":
                print(f"  {grade_id}: {status}")
    written = _written_answers(nb) if nb is not None else {}
    for grade_id, (_, answered) in written.items():
        if not answered:
            print(f"  {grade_id}: your written answer is still empty (a TA grades it)")
    graded = [f"{hidden_tests} test cell(s) with hidden tests ({hidden_points:g} points)"] if hidden_tests else []
    if models:
        graded.append(
            f"the checks of your {len(models)} saved model(s) on the grader's own test data ({model_points:g} points)"
        )
    if graded:
        print("The grader also runs " + " and ".join(graded) + ".")
    if written:
        print(f"A TA grades your {len(written)} written answer(s) ({sum(p for p, _ in written.values()):g} points).")
    from cnnlab.grading.intake.ids import student_id

    student, wrong = student_id(student or "")
    if wrong:
        problem = f"STUDENT_ID is {student!r}: write your student id in this cell and run it again ({wrong})."
        problems.append(problem)
        print(problem)
    if problems:
        print("No zip written: fix the problems above first.")
        return {"zip": None, "problems": problems, "tests": tests, "models": found}
    archive = directory / f"{student}_{lab}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{student}/{lab}/{lab}.ipynb", json.dumps(nb, indent=1))
        for name in models:
            zf.write(model_path(name, directory), f"{student}/{lab}/{name}.keras")
            if quick_mark(name, directory).exists():  # the grader's reason then says why the model misses its bar
                zf.write(quick_mark(name, directory), f"{student}/{lab}/{name}.quick")
    print(f"Wrote {archive}: hand in this file.")
    if in_colab():
        from google.colab import files

        files.download(str(archive))
    return {"zip": archive, "problems": [], "tests": tests, "models": found}
