"""Read a submitted notebook (step 1 of a worker): too large, not JSON, no list of cells: `Rejected` (status
error), with what the student should do."""

import json
from pathlib import Path

import nbformat

MAX_NOTEBOOK_MB = 20


class Rejected(Exception):
    """The submission cannot be graded; the message tells the student why and what to do."""


def read_notebook(path):
    path = Path(path)
    size = path.stat().st_size / 2**20
    if size > MAX_NOTEBOOK_MB:
        raise Rejected(
            f"{path.name} is {size:.0f} MB, over the grader's {MAX_NOTEBOOK_MB} MB: clear the "
            f"outputs (Kernel > Restart & Clear Output) and submit again"
        )
    try:
        with open(path, encoding="utf-8") as file:
            nb = nbformat.read(file, as_version=4)
    except (nbformat.reader.NotJSONError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise Rejected(
            f"{path.name} is not a valid notebook (not readable as JSON: {str(error)[:120]}); "
            f"download it again from Jupyter (File > Download) and resubmit"
        ) from None
    except Exception as error:
        raise Rejected(f"{path.name} is not a valid notebook ({type(error).__name__}: {str(error)[:120]})") from None
    if not isinstance(nb.get("cells"), list):
        raise Rejected(f"{path.name} is not a valid notebook: it has no list of cells")
    return nb
