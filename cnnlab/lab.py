"""What every lab notebook shares: the set-up cell and its report, quick mode, grading mode, the saved model.

A lab's first cell is `setup_cell_source()` (written there by `make labs`), so the repository URL lives
here only. Two environment variables steer a notebook:

- `CNNLAB_QUICK=1`: quick mode; `pick(full=..., quick=...)` returns the small value (data, epochs),
  so a whole solution notebook runs on a laptop CPU in minutes. The tests set it. Without it, a lab
  that is too slow for a CPU can give `pick` a `cpu=...` budget, used when no GPU/TPU is found.
- `CNNLAB_GRADING=1`: the grader runs the notebook; `train_or_load` loads the model the student
  saved next to the notebook instead of training again.
"""

import os
import platform
import sys
from pathlib import Path

REPO_URL = "https://github.com/sif-dlv/cnnlab"
QUICK_ENV = "CNNLAB_QUICK"
GRADING_ENV = "CNNLAB_GRADING"

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


def setup_cell_source():
    """The text of every lab's first cell: in Colab clone the repository and install cnnlab from it, then report.

    A clone (not a bare `pip install git+...`) keeps the repository's `data/` checksum registry
    next to the package; putting it on `sys.path` makes it importable without restarting the kernel.
    """
    return (
        "# Set-up. In Colab this installs cnnlab from the course repository (pick a GPU first:\n"
        "# Runtime > Change runtime type). In a local Jupyter with cnnlab installed, nothing is installed.\n"
        "import os, subprocess, sys\n"
        "if \"google.colab\" in sys.modules:\n"
        "    if not os.path.isdir(\"/content/cnnlab\"):\n"
        f"        subprocess.run([\"git\", \"clone\", \"-q\", \"--depth\", \"1\", \"{REPO_URL}\", \"/content/cnnlab\"], check=True)\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"-e\", \"/content/cnnlab\"], check=True)\n"
        "    sys.path.insert(0, \"/content/cnnlab\")\n"
        "from cnnlab import lab\n"
        "lab.setup()"
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


def setup(verbose=True):
    """Report where the notebook runs (Colab or local), the Keras backend, accelerators and modes.

    Returns the report as a dict; prints it unless `verbose=False`. In Colab without a GPU it says
    how to get one; on a CPU it suggests quick mode for the training labs.
    """
    import keras

    import cnnlab

    backend = keras.backend.backend()
    devices = _accelerators(backend)
    report = {
        "where": "Colab" if in_colab() else "local",
        "python": platform.python_version(),
        "cnnlab": cnnlab.__version__,
        "keras": keras.__version__,
        "backend": backend,
        "accelerators": devices,
        "quick": quick_mode(),
        "grading": grading_mode(),
    }
    if verbose:
        print(f"Running {report['where']}: Python {report['python']}, cnnlab {report['cnnlab']}, "
              f"Keras {report['keras']} on {backend}.")
        print(f"Accelerators: {', '.join(devices) if devices else 'none, the CPU will do the work'}.")
        print(f"Quick mode ({QUICK_ENV}): {'on' if report['quick'] else 'off'}; "
              f"grading mode ({GRADING_ENV}): {'on' if report['grading'] else 'off'}.")
        if not devices and in_colab():
            print("No GPU: choose Runtime > Change runtime type > GPU, then run this cell again.")
        elif not devices and not report["quick"]:
            print(f"Training labs are slow on a CPU: set {QUICK_ENV}=1 before starting Jupyter for a small run.")
    return report


def model_path(name, directory=None):
    """Where the trained model `name` lives: `<name>.keras` next to the notebook (the working directory)."""
    return Path(directory if directory is not None else os.getcwd()) / f"{name}.keras"


def save_model(model, name, directory=None):
    """Save `model` as `<name>.keras` next to the notebook; returns the path."""
    path = model_path(name, directory)
    model.save(path)
    print(f"Saved {model.name} to {path}")
    return path


def load_model(name, directory=None):
    """Load the model saved by `save_model`; a missing file says which cell creates it."""
    import keras

    path = model_path(name, directory)
    if not path.exists():
        raise FileNotFoundError(
            f"no trained model at {path}. The grader evaluates the model you trained and saved: run the "
            f"training cell (it saves {path.name} next to the notebook) and submit that file with the notebook.")
    return keras.saving.load_model(path)


def train_or_load(name, train, directory=None):
    """Train with `train()` and save the model, or, in grading mode, load the saved one without training."""
    if grading_mode():
        model = load_model(name, directory)
        print(f"Grading mode: loaded {model_path(name, directory)}; not training.")
        return model
    model = train()
    save_model(model, name, directory)
    return model
