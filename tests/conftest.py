import os
from pathlib import Path

from cnnlab.startup import quiet_tensorflow

quiet_tensorflow()  # (each pytest process imports TensorFlow here, without its C++ start-up log)

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def pytest_configure(config):
    config.addinivalue_line("markers", "backends: also run under the JAX and PyTorch backends by `make test`")


# Fixtures whose work several tests share: under pytest-xdist (`-n N --dist loadgroup`, as `make test` runs), the
# tests that use one of them go to one worker, so that the work is done once (a lab's solution run trains its
# networks; each corpus batch grades dozens of submissions).
SHARED_FIXTURES = (
    "lab1_batch",
    "model_batch",
    "bundle",
    "built",
    "term_class",
    "paths_batch",
    "kernel_server",
    "secrets_batch",
    "lookup_batch",
)


def shared_work(item):
    """The name of the shared work an item needs: its lab's name for a test of the lab's solution run, notebook
    or grading batches; a corpus batch's name; None for a test on its own."""
    if "solution_run" in item.fixturenames:
        params = item.callspec.params.values() if hasattr(item, "callspec") else ()
        labs = [value.parent.name if isinstance(value, Path) else value for value in params]
        return next((lab for lab in labs if str(lab).startswith("lab")), "solution_runs")
    return next((name for name in SHARED_FIXTURES if name in item.fixturenames), None)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which turns the marks into groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        group = shared_work(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def bundle(tmp_path_factory):
    """The student bundle as `make release` writes it, built once per session: its labs/ is nbgrader's release of
    solutions/ (test_labs compares it with labs/), then docs, README, wheel and sdist (test_release)."""
    from cnnlab import release

    root = Path(__file__).resolve().parent.parent
    return release.build_bundle(root, tmp_path_factory.mktemp("release") / "release")


@pytest.fixture(scope="session")
def built():
    """`built(name)`: the network `name` as `cnnlab.models.build(name)` makes it by default, built once per session.
    The lecture's tables, the FLOPs row, the depths, the CLI's `--all --check` and the parameter comparisons read the
    same ImageNet-sized networks; the tests that use this only read them."""
    import functools

    from cnnlab import models

    return functools.cache(models.build)


@pytest.fixture
def shared_dir():
    """The course's data folder from CNNLAB_DATA_DIR; tests that need the real files skip without it."""
    path = os.environ.get("CNNLAB_DATA_DIR")
    if not path or not os.path.isfile(os.path.join(path, "mnist.npz")):
        pytest.skip("CNNLAB_DATA_DIR is not set to the course's shared/data folder")
    return path


@pytest.fixture(scope="session")
def solution_run(tmp_path_factory):
    """`solution_run(lab)`: (executed notebook, folder) of the lab's solution run once per session in quick mode.

    The folder holds the models the notebook saved. test_labs checks the run; test_grader grades those models,
    so the training labs train once per session, not once per test file."""
    import nbformat
    from notebook_runs import execute

    runs = {}

    def run(lab):
        if lab not in runs:
            solution = Path(__file__).resolve().parent.parent / "solutions" / lab / f"{lab}.ipynb"
            folder = tmp_path_factory.mktemp(f"{lab}-quick")
            runs[lab] = execute(nbformat.read(solution, as_version=4), folder), folder
        return runs[lab]

    return run
