"""Skip two imports that TensorFlow and Keras make but cnnlab's commands never use: JAX (TensorFlow Lite imports
it along with TensorFlow) and matplotlib (Keras' plotting imports it along with Keras). Both are optional
imports there. Together they cost about 0.9 s of `import keras` on the course's 2-core machine."""

import json
import os
import sys


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
    """Make `import jax` (unless Keras' backend is JAX) and, unless `plotting`, `import matplotlib` raise
    ImportError in this process. Call it before Keras is imported; a module already imported stays."""
    unused = [] if plotting else ["matplotlib"]
    if keras_backend() != "jax":
        unused.append("jax")
    sys.modules.update({name: None for name in unused if name not in sys.modules})
