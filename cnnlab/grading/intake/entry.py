"""One student's hand-in as an LMS download names it (an `Entry`), before the grader picks what to grade from it.

Each layout module (`canvas`, `moodle`, `gradescope`, `blackboard`, `folders`) turns a download into entries; the
`discover` step then picks each entry's notebook and models, opens the `lab.submit` zips among its files, and adds
the roster's students who handed in nothing. A file a layout cannot place on a student is an `Unplaced` (reported
as a warning and in the class report, never dropped silently).
"""

from dataclasses import dataclass, field
from pathlib import Path

# How an entry's notebooks are chosen (`discover.pick_notebook`):
LAB_FOLDER = "lab folder"  # a folder of this lab only: any notebook in it counts
STUDENT_FOLDER = "student folder"  # a student's folder: the notebooks named after the lab, else any notebook
FILES = "files"  # files of a flat download: the notebooks named after the lab, or the student's only file


@dataclass
class Entry:
    student: str  # the LMS user id: the key of every output (never a display name)
    name: str = ""  # the display name, for display and the LMS files that need it
    ids: dict = field(default_factory=dict)  # the LMS's own ids, e.g. {"canvas_user_id": "12345"}
    submitted_at: str | None = None  # ISO 8601 with its UTC offset, as the LMS gives it
    time_source: str = ""  # where `submitted_at` comes from (or why there is none)
    lms_late: bool | None = None  # the LMS's own late marker (Canvas's LATE), when it has one
    paths: list = field(default_factory=list)  # the student's regular files (never a link)
    links: list = field(default_factory=list)  # symbolic links among them: refused, named in the notes
    refused_members: list = field(default_factory=list)  # zip members that were links, never unpacked
    base: Path | None = None  # what the notes show paths relative to
    scope: str = FILES  # how the notebooks are chosen (above)
    where: str = ""  # the student's files, in words ("the files of 12345", "ann/lab1_convolution/")
    file_ids: dict = field(default_factory=dict)  # {path: ids of that file}, e.g. Canvas's attachment id
    notes: list = field(default_factory=list)  # what intake decided (older attempts left out, ...)
    problem: str = ""  # why nothing of this entry can be graded (status rejected)


@dataclass
class Unplaced:
    """A file (or folder) of the download that belongs to no student the grader can name."""

    path: str
    why: str

    def sentence(self):
        return f"{self.path}: {self.why}"
