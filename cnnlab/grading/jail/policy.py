"""The one policy for untrusted code (a student's kernel, the model server and its children): its resource limits,
its environment, and the command line that starts a Python module under them in the jail.

`jail._inside` applies the limits inside the jail, before any untrusted code runs; `jail.bwrap` builds the jail."""

import json
import os
import sys

from cnnlab.grading.jail import bwrap
from cnnlab.grading.paths import python_path

FILE_MB = 1024  # the largest file a jailed process may write
# what a jailed process sees of the grader's environment: an allow-list (no tokens, no credentials)
ALLOWED_ENV = {
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "KERAS_BACKEND",
    "CUDA_VISIBLE_DEVICES",
    "PYTHONHASHSEED",
    "VIRTUAL_ENV",
}
ALLOWED_ENV_PREFIXES = ("LC_", "OMP_", "MKL_", "TF_", "XLA_", "JAX_")
# quiet and clean: no TensorFlow C++ log, no warnings in the student's feedback, no .pyc in the jail's folders
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore", "PYTHONDONTWRITEBYTECODE": "1"}


def limits(memory_mb, seconds, processes, writable, protected=(), fork_server=False):
    """The limits `jail._inside` sets: address space, CPU seconds (a backstop behind the wall clock of `seconds`,
    which several threads may use faster), processes, file size; the audit hook's protected and writable paths;
    `fork_server`: this process (a server) may fork, its children may not."""
    return {
        "memory_mb": memory_mb,
        "cpu_s": int(seconds * (os.cpu_count() or 1)) + 10,
        "file_mb": FILE_MB,
        "processes": processes,
        "protected": [str(p) for p in protected],
        "writable": [str(p) for p in writable],
        "fork_server": fork_server,
    }


def environment(home, tmp, **extra):
    """The environment of a jailed process: the allowed part of the grader's, quiet settings, its own home and
    temporary folder, cnnlab on PYTHONPATH, and `extra`."""
    env = {k: v for k, v in os.environ.items() if k in ALLOWED_ENV or k.startswith(ALLOWED_ENV_PREFIXES)}
    env.update(QUIET_ENV)
    env.update({"HOME": str(home), "TMPDIR": str(tmp), "PYTHONPATH": python_path()})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def kernel_environment(home, tmp, runtime, quick):
    """The environment of a kernel server and its kernels: `environment`, grading mode (and quick mode if
    `quick`), matplotlib's folder in `home` and its inline backend, IPython's and Jupyter's folders in `tmp` and
    Jupyter's runtime files in `runtime`."""
    return environment(
        home,
        tmp,
        CNNLAB_GRADING="1",
        CNNLAB_QUICK="1" if quick else "0",
        MPLCONFIGDIR=os.path.join(home, ".mpl"),
        MPLBACKEND="module://matplotlib_inline.backend_inline",  # what ipykernel sets, before matplotlib's import
        IPYTHONDIR=os.path.join(tmp, "ipython"),
        JUPYTER_CONFIG_DIR=os.path.join(tmp, "jupyter-config"),
        JUPYTER_DATA_DIR=os.path.join(tmp, "jupyter-data"),
        JUPYTER_RUNTIME_DIR=runtime,
        JUPYTER_PLATFORM_DIRS="1",
    )


def command(jail, limits, module, args, writable=(), readonly=(), cwd=None):
    """The command line of `python -m module args` in `jail`, under `limits` (set by `jail._inside` first)."""
    argv = [
        sys.executable,
        "-m",
        "cnnlab.grading.jail._inside",
        "--limits",
        json.dumps(limits),
        "--",
        sys.executable,
        "-m",
        module,
        *args,
    ]
    return bwrap.command(jail, argv, writable=writable, readonly=readonly, cwd=cwd)
