"""The students' feedback with the TA's grades in: its summary (the total, each question graded by a TA or waiting)
and the note under each answer a TA grades (the points and the comment).

The batch keeps each feedback notebook (`--out/feedback/<slug>/<lab>.ipynb`, the page's source) with a stamp of the
TA's grades it shows (`standing.stamp`). `refresh_feedback` writes a student's notebook and page again when the stamp
differs from the grades now kept: after a TA saves (the TA's page calls it for that student) and at the end of every
batch (a submission graded again after a TA's grade, a run that stopped halfway). Both files are replaced
atomically; a missing notebook (a submission graded before it was kept) is left as it is.
"""

import os
from pathlib import Path

import nbformat

from cnnlab.grading.results.feedback_page import manual_note, summary_markdown, to_html
from cnnlab.grading.results.standing import apply, stamp


def _replace(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def refresh_one(out, result_json, grades):
    """Write the feedback of one result (JSON) again with the student's `grades` if they changed what it shows;
    True when it was written."""
    folder = Path(out) / "feedback" / result_json["slug"]
    notebook_path = folder / f"{result_json['lab']}.ipynb"
    if not grades or not any(c.get("path") == "manual" for c in result_json["cells"]) or not notebook_path.exists():
        return False  # (without a TA's grade, the worker's feedback already says that each question waits)
    wanted = stamp(result_json, grades)
    nb = nbformat.read(notebook_path, as_version=4)
    if nb.metadata.get("cnnlab", {}).get("manual_stamp") == wanted:
        return False
    shown = apply(result_json, grades)
    cells = {c["grade_id"]: c for c in shown["cells"]}
    if nb.cells and nb.cells[0].cell_type == "markdown":
        nb.cells[0].source = summary_markdown(shown)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("cnnlab", {}).get("manual")
        if grade_id in cells:
            cell.source = manual_note(cells[grade_id])
    nb.metadata["cnnlab"] = {"manual_stamp": wanted}
    _replace(notebook_path, nbformat.writes(nb))
    _replace(folder / f"{result_json['lab']}.html", to_html(nb))
    return True


def refresh_feedback(out, results_json, manual):
    """`refresh_one` for every result (JSON) with the TA's grades `manual` ({lab: {student: {grade_id: grade}}});
    returns the students whose feedback was written again."""
    return [r["student"] for r in results_json if refresh_one(out, r, manual.get(r["lab"], {}).get(r["student"], {}))]
