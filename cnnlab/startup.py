"""How cnnlab's commands, its lab notebooks and the grader's jailed processes start Keras.

- `skip_unused_imports`: optional imports that other libraries make but cnnlab's processes never use, skipped: JAX
  (TensorFlow Lite imports it along with TensorFlow), matplotlib (Keras' plotting imports it along with Keras) and
  rfc3987_syntax (jsonschema, which nbformat imports, imports it where it is installed, as jupyter-events asks; it
  compiles 38 Lark grammars as it is imported, a second of every process that reads a notebook, to check IRIs,
  which a notebook's schema never asks for).
- `quiet_tensorflow`: TensorFlow imported without its C++ start-up log (absl's "All log messages before
  absl::InitializeLog()", oneDNN, "Could not find cuda drivers", cuInit errors on a machine without a GPU), which
  reads like a failure to a newcomer and would open every student's feedback. A user who sets
  TF_CPP_MIN_LOG_LEVEL gets TensorFlow's log as before.
"""

import contextlib
import json
import os
import sys
import tempfile


def keras_backend():
    """The backend Keras will pick on import: $KERAS_BACKEND, else keras.json's (in Keras' folder), else
    "tensorflow"."""
    if "KERAS_BACKEND" in os.environ:
        return os.environ["KERAS_BACKEND"]
    home = os.path.expanduser("~")
    folder = os.environ.get("KERAS_HOME") or os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    try:
        with open(os.path.join(folder, "keras.json")) as config:
            return json.load(config).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def skip_unused_imports(plotting=False):
    """Make `import jax` (unless Keras' backend is JAX), `import rfc3987_syntax` and, unless `plotting`,
    `import matplotlib` raise ImportError in this process. Call it before Keras and nbformat are imported; a module
    already imported stays."""
    unused = ["rfc3987_syntax"] if plotting else ["rfc3987_syntax", "matplotlib"]
    if keras_backend() != "jax":
        unused.append("jax")
    sys.modules.update({name: None for name in unused if name not in sys.modules})


def quiet_tensorflow():
    """Import TensorFlow (when it is Keras' backend and not imported yet) with the C++ log it prints while loading
    kept off stderr, and its later log at errors only (TF_CPP_MIN_LOG_LEVEL=3). Nothing changes when the user set
    TF_CPP_MIN_LOG_LEVEL. If the import fails, what TensorFlow printed is written to stderr before the error."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if keras_backend() != "tensorflow" or "tensorflow" in sys.modules:
        return
    with _stderr_held() as held:
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            held.release()
            raise


@contextlib.contextmanager
def _stderr_held():
    """File descriptor 2 points at a temporary file inside the block (the C++ log goes there); `release()` writes
    what it caught to the real stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)

        class Held:
            @staticmethod
            def release():
                caught.seek(0)
                os.write(saved, caught.read())

        try:
            yield Held
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
