"""A class roster (`--roster FILE`): the LMS's own export, read as it is, naming every enrolled student, so that
those who handed in nothing get a `missing` row and the gradebooks carry them.

Read by its header (comma, semicolon or tab separated; UTF-8, or UTF-16 as Blackboard writes it):

- **canvas**: the Gradebook's "Export Entire Gradebook" CSV: `Student, ID, SIS User ID, SIS Login ID, Section, ...`
  (a `Points Possible` row and `Manual Posting` rows are skipped). Key: `ID`, the Canvas user id.
- **moodle**: the assignment's "Download grading worksheet" (Offline grading worksheet feedback type):
  `Identifier, Full name, Email address, Status, Grade, Maximum Grade, ..., Last modified (submission), ...`.
  Key: the participant id of `Identifier` ("Participant 123456"); its "Last modified (submission)" is the
  submission's time (in the course's `time_zone`). Moodle's gradebook export has no participant id, so it cannot
  name the download's participants: use the worksheet.
- **blackboard**: the Grade Center's "Work Offline > Download" file: `Last Name, First Name, Username, ...`.
  Key: `Username`.
- **gradescope**: Gradescope's roster CSV (`First Name, Last Name, SID, Email, ...`). Key: the email, lowercased.
- **plain**: any CSV with a `student` column (the id) and optionally `name`: for plain folders.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.grading.errors import GradingError

KINDS = ("canvas", "moodle", "blackboard", "gradescope", "plain")
MOODLE_TIMES = ("%A, %d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M", "%d %B %Y, %I:%M %p", "%d %B %Y, %H:%M")
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@dataclass
class Enrolled:
    student: str  # the key: the same id the LMS's download gives
    name: str = ""
    ids: dict = field(default_factory=dict)  # the LMS's fields kept for its gradebook (SIS ids, section, email...)
    submitted_at: str | None = None
    time_source: str = ""


@dataclass
class Roster:
    kind: str
    path: str
    header: list
    rows: list  # every data row as read (lists of cells), in order: the Moodle worksheet is written back from them
    students: dict  # key -> Enrolled, in the file's order
    warnings: list = field(default_factory=list)
    points: dict = field(default_factory=dict)  # Canvas's "Points Possible" row: column -> points

    def to_json(self):
        return {
            "kind": self.kind,
            "path": self.path,
            "header": self.header,
            "rows": self.rows,
            "students": {k: vars(e) for k, e in self.students.items()},
            "warnings": self.warnings,
            "points": self.points,
        }

    @classmethod
    def from_json(cls, data):
        students = {k: Enrolled(**e) for k, e in data["students"].items()}
        return cls(
            data["kind"],
            data["path"],
            data["header"],
            data["rows"],
            students,
            data.get("warnings", []),
            data.get("points", {}),
        )


def _text(path):
    raw = Path(path).read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")  # (Excel's CSV on Windows)


def _rows(path):
    text = _text(path)
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",;\t", key=first.count)
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(cell.strip() for cell in row)]
    if not rows:
        raise GradingError(f"--roster {path}: the file is empty; pass the LMS's export of the class")
    return [cell.strip() for cell in rows[0]], rows[1:]


def kind_of(header):
    """The LMS a roster's header comes from, or None."""
    if len(header) > 4 and "Student" in header[0] and header[1] == "ID" and any("Section" in h for h in header):
        return "canvas"
    if "Identifier" in header and "Full name" in header:
        return "moodle"
    if "Username" in header and "Last Name" in header:
        return "blackboard"
    if "Email" in header and ("SID" in header or "First Name" in header):
        return "gradescope"
    if "student" in header:
        return "plain"
    return None


def moodle_time(text, time_zone):
    """A time of Moodle's worksheet ("Monday, 2 March 2026, 11:41 PM") as ISO 8601, or None when it has none."""
    text = text.strip()
    if not text or text == "-" or time_zone is None:
        return None
    for pattern in MOODLE_TIMES:
        try:
            return datetime.datetime.strptime(text, pattern).replace(tzinfo=time_zone).isoformat()
        except ValueError:
            continue
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=time_zone)).isoformat()


def read(path, time_zone=None):
    """The `Roster` in `path`; raises GradingError saying what was expected when the file is no roster."""
    path = Path(path)
    if not path.is_file():
        raise GradingError(f"--roster {path}: no such file")
    header, rows = _rows(path)
    kind = kind_of(header)
    if kind is None:
        raise GradingError(
            f"--roster {path}: not a roster this grader reads (header {', '.join(header[:6])}); expected Canvas's "
            f"gradebook export (Student, ID, SIS User ID, SIS Login ID, Section, ...), Moodle's grading worksheet "
            f"(Identifier, Full name, ...), Blackboard's Grade Center download (Last Name, First Name, Username, "
            f"...), Gradescope's roster (First Name, Last Name, SID, Email, ...) or a CSV with a `student` column"
        )
    column = {name: i for i, name in enumerate(header)}

    def cell(row, name):
        i = column.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    students, kept, warnings, points = {}, [], [], {}
    for number, row in enumerate(rows, start=2):
        if kind == "canvas" and "Points Possible" in row[0]:
            points = {h: row[i].strip() for i, h in enumerate(header) if i < len(row) and row[i].strip()}
            continue
        if kind == "canvas" and all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c) for c in row):
            continue
        if kind == "canvas":
            key, name = cell(row, "ID"), cell(row, header[0])
            ids = {
                "canvas_user_id": key,
                "sis_user_id": cell(row, "SIS User ID"),
                "sis_login_id": cell(row, "SIS Login ID"),
            }
            ids["section"] = next((row[i].strip() for i, h in enumerate(header) if "Section" in h and i < len(row)), "")
            entry = Enrolled(key, name, ids)
        elif kind == "moodle":
            identifier = cell(row, "Identifier")
            key = re.sub(r"\D", "", identifier)
            when = moodle_time(cell(row, "Last modified (submission)"), time_zone)
            entry = Enrolled(
                key,
                cell(row, "Full name"),
                {"moodle_participant_id": key, "identifier": identifier, "email": cell(row, "Email address")},
                when,
                "Moodle's grading worksheet (Last modified (submission))" if when else "",
            )
            if cell(row, "Last modified (submission)") not in ("", "-") and not when:
                warnings.append(
                    f"--roster {path.name} line {number}: the time {cell(row, 'Last modified (submission)')!r} "
                    f"could not be read (set the course's time_zone; an English Moodle writes 'Monday, 2 March "
                    f"2026, 11:41 PM')"
                )
        elif kind == "blackboard":
            key = cell(row, "Username")
            name = f"{cell(row, 'First Name')} {cell(row, 'Last Name')}".strip()
            entry = Enrolled(key, name, {"blackboard_username": key, "student_id": cell(row, "Student ID")})
        elif kind == "gradescope":
            key = cell(row, "Email").lower()
            name = cell(row, "Name") or f"{cell(row, 'First Name')} {cell(row, 'Last Name')}".strip()
            entry = Enrolled(key, name, {"gradescope_email": key, "gradescope_sid": cell(row, "SID")})
        else:
            key = cell(row, "student")
            entry = Enrolled(key, cell(row, "name"), {})
        if not key:
            warnings.append(f"--roster {path.name} line {number}: no student id, left out")
            continue
        if key in students:
            raise GradingError(
                f"--roster {path}: line {number} names {key!r} again; a roster names each student once: "
                f"pass the LMS's export as it is"
            )
        students[key] = entry
        kept.append(row)
    return Roster(kind, str(path), header, kept, students, warnings, points)
