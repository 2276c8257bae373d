"""Find each student's notebook and files for a lab, in any of the layouts instructors download.

- a folder per student: `DIR/<student>/<lab>/<notebook>.ipynb` plus saved models (`DIR/<student>/*.ipynb` too);
- a flat folder of files whose names start with the student id (`12345_lab1_convolution.ipynb`,
  `12345_lab2_convnet.keras`), as LMS downloads are; the id is what `--id-pattern` captures;
- either of them as a zip archive, unpacked safely (`cnnlab.grading.intake.archive`).

Student ids follow `cnnlab.grading.intake.ids`; each has a `slug`, an ASCII folder name for its files.
Symbolic links are never followed, at any level: a link to another student's work is not a submission.

When a student has several notebooks (or model files) for the lab, the newest is graded and the others are
named in the result's notes. "Newest" is decided by what an LMS download gives: first the resubmission
number an LMS appends to the file name (`lab1_convolution-1.ipynb`, or a browser's `lab1_convolution (1).ipynb`),
then the modification time (a zip member's time is kept on unpacking), then a file nearer the top of the
student's folder (an `old/` copy loses a tie).
"""

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.grading.errors import GradingError
from cnnlab.grading.intake.archive import REFUSED
from cnnlab.grading.intake.ids import slug, student_id
from cnnlab.grading.results.status import Status

DEFAULT_ID_PATTERN = r"^((?:[^\W_]|[.-])+)_"


@dataclass
class Submission:
    student: str
    lab: str
    notebook: Path | None = None
    files: dict = field(default_factory=dict)  # name in the scratch folder -> path
    missing_reason: str = ""
    directory: Path | None = None
    status: Status = Status.MISSING  # the status when there is no notebook to grade: missing or rejected
    notes: list = field(default_factory=list)  # what intake decided (left-out files, refused links), for the reason
    slug: str = ""

    def __post_init__(self):
        self.slug = self.slug or slug(self.student)


def _resubmission(path, filename):
    """The LMS resubmission number of `path` as a copy of `filename` (0 for the first), or None if it is not one."""
    stem, suffix = os.path.splitext(filename)
    match = re.fullmatch(rf"(?:.*_)?{re.escape(stem)}(?:-(\d+)| ?\((\d+)\))?{re.escape(suffix)}", path.name)
    if not match:
        return None
    return int(match.group(1) or match.group(2) or 0)


def _newest(paths, filename, base):
    """(the newest copy of `filename` among `paths`, a note naming the others or ""); (None, "") if none."""
    copies = [(n, p) for p in paths if (n := _resubmission(p, filename)) is not None]
    if not copies:
        return None, ""
    ranked = sorted(copies, key=lambda c: (c[0], c[1].stat().st_mtime, -len(c[1].parts), str(c[1])))
    number, newest = ranked[-1]
    if len(ranked) == 1:
        return newest, ""
    why = f"resubmission {number}" if number > ranked[-2][0] else "the latest modified"
    others = ", ".join(_shown(p, base) for _, p in reversed(ranked[:-1]))
    return newest, f"graded {_shown(newest, base)}, the newest ({why}); left out the older {others}"


def _shown(path, base):
    return str(path.relative_to(base)) if path.is_relative_to(base) else path.name


def _pick_notebook(notebooks, notebook_name, where, base):
    """(notebook, reason it is None, note about the others)."""
    newest, note = _newest(notebooks, notebook_name, base)
    if newest is not None:
        return newest, "", note
    if len(notebooks) == 1:
        return notebooks[0], "", ""
    if not notebooks:
        return None, f"no notebook for this lab in {where}", ""
    names = ", ".join(sorted(_shown(p, base) for p in notebooks))
    return (
        None,
        (
            f"several notebooks in {where} and none named {notebook_name}: {names}; the grader cannot tell "
            f"which to grade"
        ),
        "",
    )


def _model_files(paths, model_names, base):
    files, notes = {}, []
    for name in model_names:
        newest, note = _newest(paths, f"{name}.keras", base)
        if newest is not None:
            files[f"{name}.keras"] = newest
        if note:
            notes.append(note)
    return files, notes


def _walk(folder):
    """(regular files under `folder`, symbolic links under it), never following a link."""
    files, links = [], []
    for directory, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(directory) / name
            if path.is_symlink():
                links.append(path)
            elif name in filenames and path.is_file():
                files.append(path)
    return sorted(files), sorted(links)


def _links_note(links, base):
    shown = ", ".join(f"{_shown(p, base)} (to {os.readlink(p)})" for p in links[:5])
    return f"refused symbolic links, which the grader never follows: {shown}" + (" ..." if len(links) > 5 else "")


def _refused_note(members):
    return f"refused zip members that are symbolic links, which the grader never follows: {', '.join(members[:5])}" + (
        " ..." if len(members) > 5 else ""
    )


def _finish(submission, notes, lab):
    """Intake notes in; with nothing to grade, the row says why (rejected when only links were submitted)."""
    submission.notes += notes
    if submission.notebook is None:
        refusals = [n for n in notes if n.startswith("refused")]
        if refusals:
            submission.status = Status.REJECTED
            submission.missing_reason = "; ".join([submission.missing_reason or f"no notebook for {lab}"] + refusals)
        submission.notes = []
    return submission


def discover(root, lab, notebook_name, model_names, id_pattern=DEFAULT_ID_PATTERN):
    """Submissions of one lab under `root` (a folder): one per student, including students with nothing for it."""
    root = Path(root)
    pattern = re.compile(id_pattern)
    refused_members = json.loads((root / REFUSED).read_text()) if (root / REFUSED).exists() else []
    by_student, flat, flat_links, zip_links, warnings = {}, {}, {}, {}, []

    def row(name, reason, status=Status.REJECTED):
        student, _ = student_id(name)
        by_student.setdefault(student, Submission(student, lab, missing_reason=reason, status=status))

    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            match = pattern.match(unicodedata.normalize("NFC", entry.name))
            if entry.is_dir():
                row(
                    entry.name,
                    f"{entry.name} is a symbolic link (to {os.readlink(entry)}), not a folder of the "
                    f"student's own; the grader never follows links",
                )
            elif match:
                flat_links.setdefault(student_id(match.group(1))[0], []).append(entry)
            else:
                warnings.append(f"refused {entry.name!r}: a symbolic link, and its name starts with no student id")
            continue
        if entry.is_dir():
            student, problem = student_id(entry.name)
            if problem:
                row(entry.name, problem)
                continue
            if student in by_student:
                by_student[student].notes.append(f"another folder with the same id was left out: {entry.name!r}")
                continue
            lab_dir = entry / lab
            linked = [lab_dir] if lab_dir.is_symlink() else []
            if linked or not lab_dir.is_dir():
                lab_dir = entry
            paths, links = _walk(lab_dir)
            links = sorted(set(linked + links))
            notes = [_links_note(links, entry)] if links else []
            members = [m for m in refused_members if Path(m).parts[0] == entry.name]
            if members:
                notes.append(_refused_note(members))
            notebooks = [p for p in paths if p.suffix == ".ipynb" and ".ipynb_checkpoints" not in p.parts]
            if lab_dir == entry:  # a student folder without a lab folder: only notebooks that look like this lab
                notebooks = [p for p in notebooks if lab in p.name] or notebooks
            where = f"{entry.name}/{lab_dir.relative_to(entry) if lab_dir != entry else ''}"
            notebook, reason, note = _pick_notebook(notebooks, notebook_name, where, lab_dir)
            files, model_notes = _model_files(paths, model_names, lab_dir)
            submission = Submission(student, lab, notebook, files, reason, lab_dir)
            by_student[student] = _finish(submission, [n for n in [note] if n] + model_notes + notes, lab)
        elif entry.is_file():
            match = pattern.match(unicodedata.normalize("NFC", entry.name))
            if not match:
                warnings.append(
                    f"skipped {entry.name!r}: its name does not start with a student id (--id-pattern {id_pattern})"
                )
                continue
            student, problem = student_id(match.group(1))
            if problem:
                row(match.group(1), problem)
                continue
            flat.setdefault(student, []).append(entry)
    for member in refused_members:  # flat files that were links in the zip
        match = pattern.match(unicodedata.normalize("NFC", Path(member).name)) if len(Path(member).parts) == 1 else None
        if match:
            zip_links.setdefault(student_id(match.group(1))[0], []).append(member)
        elif len(Path(member).parts) == 1:
            warnings.append(f"refused zip member {member!r}: a symbolic link, and its name starts with no student id")
    for student in sorted(set(flat) | set(flat_links) | set(zip_links)):
        paths = flat.get(student, [])
        if student in by_student:
            if paths:
                warnings.append(f"{student} has a folder and flat files; the folder is graded")
            continue
        notes = [_links_note(flat_links[student], root)] if student in flat_links else []
        if student in zip_links:
            notes.append(_refused_note(zip_links[student]))
        notebooks = [p for p in paths if p.suffix == ".ipynb" and (lab in p.name or len(paths) == 1)]
        notebook, reason, note = _pick_notebook(notebooks, notebook_name, f"the files of {student}", root)
        files, model_notes = _model_files(paths, model_names, root)
        submission = Submission(student, lab, notebook, files, reason, root)
        by_student[student] = _finish(submission, [n for n in [note] if n] + model_notes + notes, lab)
    submissions = [by_student[student] for student in sorted(by_student)]
    for submission in submissions:
        if submission.notebook is None and not submission.missing_reason:
            submission.missing_reason = f"no notebook for {lab}"
    return submissions, warnings


def file_digests(submission, notebook_name):
    """sha256 of each file graded, by its name in the scratch folder (the notebook under `notebook_name`)."""
    paths = ({notebook_name: submission.notebook} if submission.notebook else {}) | dict(submission.files)
    return {name: hashlib.sha256(Path(path).read_bytes()).hexdigest() for name, path in sorted(paths.items())}


def shard(submissions, index, count):
    """The deterministic slice `index` of `count`: by a hash of the student id, so it does not depend on the others."""
    if not 0 <= index < count:
        raise GradingError(f"--shard i/N needs 0 <= i < N. Received: {index}/{count}")
    return [s for s in submissions if int(hashlib.sha256(s.student.encode()).hexdigest(), 16) % count == index]
