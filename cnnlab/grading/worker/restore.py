"""Restore the instructors' cells of a submitted notebook (step 2 of a worker, after `read`).

Compare its graded and locked cells with the release (edited, deleted, duplicated: status tampered; another lab's
notebook: `read.Rejected`);
   graded cells of another lab are removed (with a note); nbgrader's DeduplicateIds, OverwriteCells
   (add_missing_cells) and CheckCellMetadata put the instructors' cells back, hidden tests included, from the
   gradebook snapshot.
"""

import copy
from pathlib import Path

from cnnlab.grading.cells import nbg
from cnnlab.grading.worker.read import Rejected


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
        raise Rejected(
            f"this is not a {lab} notebook: none of its graded cells ({others}) belongs to "
            f"{lab}; submit {notebook_name} from the {lab} release"
        )
    unknown = sorted(set(seen) - set(expected))
    if unknown:  # nbgrader's CheckCellMetadata fails on a grade_id the gradebook lacks
        nb.cells = [c for c in nb.cells if not (nbg(c).get("grade_id") in unknown and nbg(c).get("grade"))]
        for cell in nb.cells:
            if nbg(cell).get("grade_id") in unknown:
                del cell.metadata["nbgrader"]  # an answer or text cell of another lab: kept, as ordinary code
        result.note(
            f"cells of no {lab} test or answer were found ({', '.join(unknown)}; "
            f"copied from another lab?): the grader removed their tests and graded the rest"
        )
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
        result.note(
            f"read-only cells were edited ({', '.join(edited)}); the grader put the instructors' versions "
            f"back before running them",
            "tampered",
        )
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
    resources = ResourcesDict(
        nbgrader={"notebook": Path(notebook_name).stem, "assignment": lab, "db_url": f"sqlite:///{gradebook}"}
    )
    for preprocessor in (ClearOutput, DeduplicateIds, OverwriteCells, CheckCellMetadata):
        nb, resources = preprocessor(config=config).preprocess(nb, resources)
        for cell in nb.cells:  # DeduplicateIds leaves `nbgrader: {}` on the copies, which later steps reject
            if cell.get("metadata", {}).get("nbgrader") == {}:
                del cell.metadata["nbgrader"]
    return nb
