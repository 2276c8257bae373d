"""Running lab notebooks in the tests: quick mode, a scratch folder, this interpreter's kernel."""

import copy
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cnnlab.data import keras_cache_dir


def missing_datasets(nb):
    """The datasets the notebook's metadata lists that no local copy holds (no download is tried)."""
    data_dir = os.environ.get("CNNLAB_DATA_DIR")
    places = ([Path(data_dir).expanduser()] if data_dir else []) + [keras_cache_dir()]
    return [
        name
        for name in nb.metadata.get("cnnlab", {}).get("datasets", [])
        if not any((place / f"{name}.npz").is_file() for place in places)
    ]


def execute(nb, directory):
    """Run a notebook top to bottom in quick mode, in `directory`, on this interpreter; errors stay in outputs.

    The models it saves (`lab.train_or_load`) land in `directory`. Skips when the notebook needs a dataset
    that is not here (see `missing_datasets`)."""
    missing = missing_datasets(nb)
    if missing:
        pytest.skip(
            f"needs {', '.join(missing)}: set CNNLAB_DATA_DIR to the course's shared/data folder "
            f"(CI sets ../shared/data), or copy {', '.join(f'{n}.npz' for n in missing)} into {keras_cache_dir()}"
        )
    nb = copy.deepcopy(nb)
    probe = nbformat.v4.new_code_cell("import sys\nprint(sys.executable)")
    nb.cells.append(probe)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("CNNLAB_QUICK", "1")
        monkeypatch.delenv("CNNLAB_GRADING", raising=False)
        client = NotebookClient(
            nb, timeout=600, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(directory)}}
        )
        executed = client.execute()
    assert executed.cells[-1].outputs[0]["text"].strip() == sys.executable, "the kernel is not this interpreter"
    return executed
