"""Where the grader finds the course, and how the processes it starts find cnnlab: the one place of both."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: cnnlab/, solutions/, autograder/


def python_path(environ=None):
    """PYTHONPATH for a process the grader starts (a worker, a kernel, a model server): the repository first."""
    environ = os.environ if environ is None else environ
    return os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH", "")]))
