"""Moodle: the offline grading worksheet and the feedback files zip.

The grading worksheet (Moodle Docs, "Assignment settings", feedback type "Offline grading worksheet"; what the
upload checks is in Moodle's mod/assign/feedback/offline/importgradeslib.php and locallib.php, the columns in
mod/assign/gradingtable.php): the CSV Moodle's "Download grading worksheet" writes, `Identifier, Full name, Email
address, Status, Grade, Maximum Grade, Grade can be changed, Last modified (submission), Last modified (grade),
Feedback comments`. The upload needs `Identifier` ("Participant 123456"), `Grade` and `Last modified (grade)`; it
skips a blank grade, a grade over the maximum, and a row whose grade was changed in Moodle after its "Last modified
(grade)" (unless "Allow updating records that have been modified more recently in Moodle than in the spreadsheet" is
ticked). So with the worksheet as the roster, the file written is that worksheet, row for row, with the Grade filled
in (and an empty "Feedback comments" cell given the grade's summary; a comment already there is kept); without it, a
worksheet with those columns and `-` as the grade's last change. Grades are scaled to the worksheet's "Maximum
Grade" when it differs from the lab's points.

The feedback files (Moodle Docs, "Assignment settings", "Feedback files": "Upload multiple feedback files in a
zip"; Moodle's mod/assign/feedback/file/importziplib.php): a zip whose folders are named as the download names
them, `<Full name>_<participant id>_assignsubmission_file_/`; Moodle reads the participant id after the first
`_` and gives the student every file under the folder.
"""

import csv
import io
import re
import zipfile
from pathlib import Path

from cnnlab.grading.results.final import shown

HEADER = [
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
]
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _participant(identifier):
    return re.sub(r"\D", "", identifier)


def summary(final):
    """The grade in one line, for the worksheet's feedback comments."""
    if final.final is None:
        return ""
    parts = [f"Tests {shown(final.score)}/{final.max_score:g}"]
    if final.penalty:
        parts.append(f"late penalty -{shown(final.penalty)}")
    if final.total_adjustment:
        parts.append(f"adjusted {final.total_adjustment:+g}")
    return "; ".join(parts) + f"; grade {shown(final.final)}/{final.max_score:g}. The attached page has the details."


def worksheet(finals, results, context):
    """(the worksheet's rows, header first; notes for the report)."""
    roster = context.roster if (context.roster or {}).get("kind") == "moodle" else None
    notes = []
    if roster is None:
        header, rows = list(HEADER), []
        by_student = {r.student: r for r in results}
        for student in sorted(finals, key=lambda s: (len(s), s)):
            who = (by_student[student].submission or {}) if student in by_student else {}
            row = dict.fromkeys(header, "")
            row.update(
                {
                    "Identifier": f"Participant {student}",
                    "Full name": who.get("name", ""),
                    "Email address": who.get("ids", {}).get("email", ""),
                    "Maximum Grade": f"{finals[student].max_score:g}",
                    "Grade can be changed": "Yes",
                    "Last modified (grade)": "-",
                }
            )
            rows.append([row[h] for h in header])
    else:
        header, rows = (
            list(roster["header"]),
            [list(r) + [""] * (len(roster["header"]) - len(r)) for r in roster["rows"]],
        )
        listed = {_participant(r[header.index("Identifier")]) for r in rows}
        for student in sorted(set(finals) - listed, key=lambda s: (len(s), s)):
            row = dict.fromkeys(header, "")
            row.update({"Identifier": f"Participant {student}", "Last modified (grade)": "-"})
            rows.append([row[h] for h in header])
            notes.append(f"Moodle: {student} is not in the grading worksheet; a row was added for them")
    column = {h: i for i, h in enumerate(header)}
    if "Grade" not in column:
        header.append("Grade")
        column["Grade"] = len(header) - 1
        rows = [r + [""] for r in rows]
    scaled = set()
    for row in rows:
        student = _participant(row[column["Identifier"]])
        final = finals.get(student)
        if final is None:
            continue
        maximum = final.max_score
        if "Maximum Grade" in column:
            try:
                maximum = float(row[column["Maximum Grade"]]) or final.max_score
            except ValueError:
                maximum = final.max_score
        if abs(maximum - final.max_score) > 1e-9:
            scaled.add(maximum)
        value = None if final.final is None else final.final * maximum / final.max_score if final.max_score else 0
        row[column["Grade"]] = shown(value)
        if "Feedback comments" in column and not row[column["Feedback comments"]].strip():
            row[column["Feedback comments"]] = summary(final)
    if scaled:
        notes.append(
            f"Moodle: the worksheet's maximum grade is {', '.join(f'{m:g}' for m in sorted(scaled))} and "
            f"{context.lab}'s points {max(f.max_score for f in finals.values()):g}: its grades are scaled"
        )
    return [header] + rows, notes


def write_worksheet(path, finals, results, context):
    rows, notes = worksheet(finals, results, context)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(buffer.getvalue(), encoding="utf-8")
    return notes


def feedback_folder(result):
    """`<Full name>_<participant id>_assignsubmission_file_`: the full name has no `_` (Moodle splits there)."""
    ids = (result.submission or {}).get("ids", {})
    participant = ids.get("moodle_participant_id") or result.student
    name = re.sub(r"[_/\\\s]+", " ", (result.submission or {}).get("name", "")).strip() or "Participant"
    return f"{name}_{participant}_assignsubmission_file_"


def write_feedback(path, results, feedback_page):
    """Write the feedback files zip at `path` (`feedback_page(result)` -> the student's page); returns report notes."""
    left_out = []
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for result in sorted(results, key=lambda r: r.student):
            page = feedback_page(result)
            if not page.exists():
                left_out.append(result.student)
                continue
            member = f"{feedback_folder(result)}/feedback_{result.lab}.html"
            archive.writestr(zipfile.ZipInfo(member, ZIP_TIME), page.read_bytes())
    return [f"Moodle feedback zip: no page for {', '.join(left_out)}"] if left_out else []
