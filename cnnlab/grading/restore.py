"""Read a submitted notebook and restore the instructors' cells (steps 1 and 2 of a worker).

1. read the notebook (invalid JSON, too large, another lab's notebook: `Rejected`, status error);
2. compare its graded and locked cells with the release (edited, deleted, duplicated: status tampered);
   graded cells of another lab are removed (with a note); nbgrader's DeduplicateIds, OverwriteCells
   (add_missing_cells) and CheckCellMetadata put the instructors' cells back, hidden tests included, from the
   gradebook snapshot.
"""

import copy
import json
from pathlib import Path

import nbformat

from cnnlab.grading.cells import nbg

MAX_NOTEBOOK_MB = 20


class Rejected(Exception):
    """The submission cannot be graded; the message tells the student why and what to do."""


def read_notebook(path):
    path = Path(path)
    size = path.stat().st_size / 2**20
    if size > MAX_NOTEBOOK_MB:
        raise Rejected(f"{path.name} is {size:.0f} MB, over the grader's {MAX_NOTEBOOK_MB} MB: clear the "
                       f"outputs (Kernel > Restart & Clear Output) and submit again")
    try:
        with open(path, encoding="utf-8") as file:
            nb = nbformat.read(file, as_version=4)
    except (nbformat.reader.NotJSONError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise Rejected(f"{path.name} is not a valid notebook (not readable as JSON: {str(error)[:120]}); "
                       f"download it again from Jupyter (File > Download) and resubmit") from None
    except Exception as error:
        raise Rejected(f"{path.name} is not a valid notebook ({type(error).__name__}: {str(error)[:120]})") from None
    if not isinstance(nb.get("cells"), list):
        raise Rejected(f"{path.name} is not a valid notebook: it has no list of cells")
    return nb


def check_structure(nb, released, result, notebook_name):
    """Compare graded/locked cells with the release; notes tampering in `result` (a `GradingResult`)."""
    lab = result.lab
    expected = {nbg(c)["grade_id"]: c for c in released.cells if nbg(c).get("grade_id")}
    seen = {}
    for cell in nb.cells:
        grade_id = nbg(cell).get("grade_id")
        if grade_id:
            seen.setdefault(grade_id, []).append(cell)
    if not set(seen) & set(expected):
        others = ", ".join(sorted(seen)[:4]) or "none"
        raise Rejected(f"this is not a {lab} notebook: none of its graded cells ({others}) belongs to "
                       f"{lab}; submit {notebook_name} from the {lab} release")
    unknown = sorted(set(seen) - set(expected))
    if unknown:  # nbgrader's CheckCellMetadata fails on a grade_id the gradebook lacks
        nb.cells = [c for c in nb.cells if not (nbg(c).get("grade_id") in unknown and nbg(c).get("grade"))]
        for cell in nb.cells:
            if nbg(cell).get("grade_id") in unknown:
                del cell.metadata["nbgrader"]  # an answer or text cell of another lab: kept, as ordinary code
        result.note(f"cells of no {lab} test or answer were found ({', '.join(unknown)}; "
                    f"copied from another lab?): the grader removed their tests and graded the rest")
    from nbgrader.utils import compute_checksum

    edited = []
    for grade_id, cell in expected.items():
        if grade_id not in seen or not nbg(cell).get("locked") or nbg(cell).get("solution"):
            continue
        mine = copy.deepcopy(seen[grade_id][0])
        mine.metadata.nbgrader = copy.deepcopy(cell.metadata.nbgrader)  # compare the text, not the metadata
        if mine.cell_type != cell.cell_type or compute_checksum(mine) != nbg(cell)["checksum"]:
            edited.append(grade_id)
    missing = [g for g in expected if g not in seen and nbg(expected[g]).get("locked")]
    unanswered = [g for g in expected if g not in seen and not nbg(expected[g]).get("locked")]
    if unanswered:
        result.note(f"answer cells are missing ({', '.join(unanswered)}), so their tests fail")
    duplicated = [g for g, cells in seen.items() if len(cells) > 1 and g in expected]
    if edited:
        result.note(f"read-only cells were edited ({', '.join(edited)}); the grader put the instructors' versions "
                    f"back before running them", "tampered")
    if missing:
        result.note(f"cells were deleted ({', '.join(missing)}); the grader put them back", "tampered")
    if duplicated:
        result.note(f"cells appear more than once ({', '.join(duplicated)}); only the first copy counts", "tampered")


def sanitize(nb, lab, notebook_name, gradebook):
    """nbgrader's sanitizing preprocessors, with the gradebook snapshot: restores the instructors' cells."""
    from nbconvert.exporters.exporter import ResourcesDict
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells
    from traitlets.config import Config

    config = Config()
    config.OverwriteCells.add_missing_cells = True
    resources = ResourcesDict(nbgrader={"notebook": Path(notebook_name).stem, "assignment": lab,
                                        "db_url": f"sqlite:///{gradebook}"})
    for preprocessor in (ClearOutput, DeduplicateIds, OverwriteCells, CheckCellMetadata):
        nb, resources = preprocessor(config=config).preprocess(nb, resources)
        for cell in nb.cells:  # DeduplicateIds leaves `nbgrader: {}` on the copies, which later steps reject
            if cell.get("metadata", {}).get("nbgrader") == {}:
                del cell.metadata["nbgrader"]
    return nb
