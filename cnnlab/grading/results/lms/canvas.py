"""Canvas: the gradebook import file and the feedback zip for "Re-upload submissions".

The gradebook import (Canvas Instructor Guide, "How do I import grades in the Gradebook?"; what Canvas checks is
in canvas-lms lib/gradebook_importer.rb): a header row `Student, ID, SIS User ID, SIS Login ID,
Section`, then the assignment's column named as Canvas's own export names it, `<title> (<assignment id>)` (a title
alone matches the assignment of that title, and creates one when there is none); one row per student, found by
`ID` (the Canvas user id), else by SIS User ID, SIS Login ID, name. A blank cell leaves the grade as it is (so a
result with no score changes nothing); Canvas compares scores at 2 decimals. No "Points Possible" row is written:
it would set the assignment's points. When the roster's "Points Possible" row gives the column other points than
the lab's, the grades are scaled to them (and the report says so).

"Re-upload submissions" (Canvas Instructor Guide, "How do I upload files as feedback for all students in an
assignment?"; canvas-lms `Assignment#infer_comment_context_from_filename`): a zip of files named as the download
named them; Canvas reads the first two numbers between underscores as the user id and the id of a file of that
user's submission, and attaches the file to the submission as a comment. So each feedback page is
`<name>_<user id>_<attachment id>_feedback_<lab>.html`; a student who handed in no file gets none.
"""

import csv
import io
import re
import zipfile
from pathlib import Path

from cnnlab.grading.results.final import shown

HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same grades make the same file


def column(context):
    """(the assignment's column as Canvas names it, a note when it had to be guessed or "")."""
    configured = context.rules.get("canvas_column")
    if configured:
        return configured, ""
    header = (context.roster or {}).get("header", [])
    matching = [h for h in header if context.lab in h]
    if len(matching) == 1:
        return matching[0], ""
    return context.lab, (
        f"Canvas: no canvas_column for {context.lab} in course.toml ([labs.{context.lab}]); the gradebook file's "
        f"column is {context.lab!r}, which Canvas imports as a new assignment of that name: set canvas_column to "
        f"the column of Canvas's gradebook export (e.g. 'Lab 1 (4521)')"
    )


def scale(context, name, max_score):
    """(the points Canvas's column is worth, a note when they differ from the lab's) from the roster."""
    points = (context.roster or {}).get("points", {}).get(name, "")
    try:
        canvas_points = float(points)
    except ValueError:
        return max_score, ""
    if abs(canvas_points - max_score) < 1e-9 or canvas_points <= 0:
        return max_score, ""
    return canvas_points, (
        f"Canvas: the column {name!r} is worth {canvas_points:g} points and {context.lab} {max_score:g}: "
        f"the gradebook file's grades are scaled to {canvas_points:g}"
    )


def gradebook(finals, results, context):
    """(the rows of the import file, header first; notes for the report)."""
    name, note = column(context)
    notes = [note] if note else []
    by_student = {r.student: r for r in results}
    enrolled = context.enrolled
    order = list(enrolled) + sorted(s for s in finals if s not in enrolled)
    max_score = max((f.max_score for f in finals.values()), default=0)
    points, scaled = scale(context, name, max_score)
    notes += [scaled] if scaled else []
    rows = [HEADER + [name]]
    for student in order:
        if student not in finals:
            continue
        final = finals[student]
        who = (by_student[student].submission or {}) if student in by_student else {}
        ids = {**enrolled.get(student, {}).get("ids", {}), **who.get("ids", {})}
        display = enrolled.get(student, {}).get("name") or who.get("name", "")
        value = None if final.final is None else final.final * points / final.max_score if final.max_score else 0
        rows.append(
            [
                display,
                ids.get("canvas_user_id", student),
                ids.get("sis_user_id", ""),
                ids.get("sis_login_id", ""),
                ids.get("section", ""),
                shown(value),
            ]
        )
    return rows, notes


def write_gradebook(path, finals, results, context):
    """Write the import file at `path`; returns the notes for the report."""
    rows, notes = gradebook(finals, results, context)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(buffer.getvalue(), encoding="utf-8")
    return notes


def feedback_name(result):
    """The re-upload name of `result`'s feedback, or None when Canvas has no file of the student's to attach to."""
    ids = (result.submission or {}).get("ids", {})
    user, attachment = ids.get("canvas_user_id"), ids.get("canvas_attachment_id")
    if not (user and attachment):
        return None
    name = re.sub(r"[^A-Za-z]", "", ids.get("canvas_name", "")) or "student"
    return f"{name}_{user}_{attachment}_feedback_{result.lab}.html"


def write_feedback(path, results, feedback_page):
    """Write the re-upload zip at `path` from each result's feedback page (`feedback_page(result)` -> Path); returns
    the notes for the report (the students who get no file)."""
    left_out = []
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for result in sorted(results, key=lambda r: r.student):
            name, page = feedback_name(result), feedback_page(result)
            if name is None or not page.exists():
                left_out.append(result.student)
                continue
            archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), page.read_bytes())
    if not left_out:
        return []
    return [
        f"Canvas feedback zip: no file for {', '.join(left_out)} (nothing handed in, so Canvas has no file of "
        f"theirs to attach feedback to)"
    ]
