"""Find each student's notebook and files for a lab in an instructor's download, whatever LMS it comes from.

1. The layout: Canvas, Moodle, Gradescope, Blackboard or plain folders (`--lms`, or detected from the names of
   the download's top level; a download zipped in one folder is read inside it). Each layout module turns the
   download into entries (`cnnlab.grading.intake.entry`): a student's files keyed by the LMS user id, with the
   LMS's own ids, display name and submission time. A file no layout can place on a student is reported.
2. The zips among a student's files (the `<student>_<lab>.zip` that `lab.submit` writes, holding
   `<student>/<lab>/<lab>.ipynb` and the models) are opened with the limits of the outer archive
   (`cnnlab.grading.intake.archive`); their lab folder is read, and the LMS's id wins over the id inside.
3. The notebook and models: when a student has several notebooks (or model files) for the lab, the newest is
   graded and the others are named in the result's notes. "Newest" is decided by what an LMS download gives:
   first the resubmission number an LMS appends to the file name (`lab1_convolution-1.ipynb`, or a browser's
   `lab1_convolution (1).ipynb`), then the modification time (a zip member's time is kept on unpacking), then a
   file nearer the top of the student's folder (an `old/` copy loses a tie).
4. The roster (`--roster`, `cnnlab.grading.intake.roster`): every enrolled student who handed in nothing gets a
   `missing` row; the roster's names and ids complete the download's.

Student ids follow `cnnlab.grading.intake.ids`; each has a `slug`, an ASCII folder name for its files. Symbolic
links are never followed, at any level: a link to another student's work is not a submission.
"""

import hashlib
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.grading.errors import GradingError
from cnnlab.grading.intake import archive, blackboard, canvas, folders, gradescope, moodle
from cnnlab.grading.intake.entry import LAB_FOLDER, STUDENT_FOLDER
from cnnlab.grading.intake.ids import slug
from cnnlab.grading.results.status import Status

DEFAULT_ID_PATTERN = folders.DEFAULT_ID_PATTERN
LAYOUTS = {m.NAME: m for m in (canvas, moodle, gradescope, blackboard, folders)}
MAX_NESTED = 4  # zips opened per student (each within the archive's size limit)


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
    name: str = ""  # the display name (the roster's, else the download's)
    layout: str = folders.NAME  # the LMS layout it came from
    ids: dict = field(default_factory=dict)  # the LMS's own ids (user, submission, attachment, SIS ids, section...)
    submitted_at: str | None = None  # ISO 8601 with offset, as the LMS gives it
    time_source: str = ""  # where that time comes from, or why there is none
    lms_late: bool | None = None  # the LMS's own late marker

    def __post_init__(self):
        self.slug = self.slug or slug(self.student)

    def identity(self):
        """Who handed it in and when, as the result keeps it (the exports and the late policy read it)."""
        return {
            "name": self.name,
            "layout": self.layout,
            "ids": dict(self.ids),
            "submitted_at": self.submitted_at,
            "time_source": self.time_source,
            "lms_late": self.lms_late,
        }


def _resubmission(path, filename):
    """The LMS resubmission number of `path` as a copy of `filename` (0 for the first), or None if it is not one."""
    stem, suffix = os.path.splitext(filename)
    match = re.fullmatch(rf"(?:.*_)?{re.escape(stem)}(?:-(\d+)| ?\((\d+)\))?{re.escape(suffix)}", path.name)
    if not match:
        return None
    return int(match.group(1) or match.group(2) or 0)


def _newest(paths, filename, show):
    """(the newest copy of `filename` among `paths`, a note naming the others or ""); (None, "") if none."""
    copies = [(n, p) for p in paths if (n := _resubmission(p, filename)) is not None]
    if not copies:
        return None, ""
    ranked = sorted(copies, key=lambda c: (c[0], c[1].stat().st_mtime, -len(c[1].parts), str(c[1])))
    number, newest = ranked[-1]
    if len(ranked) == 1:
        return newest, ""
    why = f"resubmission {number}" if number > ranked[-2][0] else "the latest modified"
    others = ", ".join(show(p) for _, p in reversed(ranked[:-1]))
    return newest, f"graded {show(newest)}, the newest ({why}); left out the older {others}"


def _pick_notebook(notebooks, notebook_name, where, show):
    """(notebook, reason it is None, note about the others)."""
    newest, note = _newest(notebooks, notebook_name, show)
    if newest is not None:
        return newest, "", note
    if len(notebooks) == 1:
        return notebooks[0], "", ""
    if not notebooks:
        return None, f"no notebook for this lab in {where}", ""
    names = ", ".join(sorted(show(p) for p in notebooks))
    return (
        None,
        f"several notebooks in {where} and none named {notebook_name}: {names}; the grader cannot tell which to grade",
        "",
    )


def _model_files(paths, model_names, show):
    files, notes = {}, []
    for name in model_names:
        newest, note = _newest(paths, f"{name}.keras", show)
        if newest is not None:
            files[f"{name}.keras"] = newest
        if note:
            notes.append(note)
    return files, notes


def _notebooks(entry, lab):
    notebooks = [p for p in entry.paths if p.suffix == ".ipynb" and ".ipynb_checkpoints" not in p.parts]
    if entry.scope == LAB_FOLDER:
        return notebooks
    if entry.scope == STUDENT_FOLDER:
        return [p for p in notebooks if lab in p.name] or notebooks
    return [p for p in notebooks if lab in p.name or len(entry.paths) == 1]


def _open_zips(entry, lab, nested_dir, shown):
    """Open the zips among the entry's files (a `lab.submit` zip): their lab folder's files join the entry's.
    Returns the notes it added (they explain a missing notebook)."""
    zips = [p for p in entry.paths if p.suffix.lower() == ".zip"]
    if not zips:
        return []
    before = len(entry.notes)
    entry.paths = [p for p in entry.paths if p not in zips]
    if len(zips) > MAX_NESTED:
        entry.notes.append(f"left out {len(zips) - MAX_NESTED} zips: the grader opens {MAX_NESTED} per student")
    for outer in zips[:MAX_NESTED]:
        name = shown.get(outer, outer.name)
        try:
            folder = archive.unpack(outer, nested_dir)
        except (GradingError, zipfile.BadZipFile, OSError, ValueError) as error:
            entry.notes.append(f"could not open {name} ({str(error)[:200]})")
            continue
        files = [f for f in folders.walk(folder)[0] if not f.relative_to(folder).parts[0].startswith(".")]
        lab_dirs = sorted({f.parent for f in files if f.parent.name == lab}, key=lambda d: (len(d.parts), str(d)))
        inner = [f for f in files if f.is_relative_to(lab_dirs[0])] if lab_dirs else files
        refused, unsafe = _listed(folder, archive.REFUSED), _listed(folder, archive.SKIPPED)
        if refused:
            entry.notes.append(f"{name}: {folders.refused_note(refused)}")
        if unsafe:
            entry.notes.append(f"{name}: left out members with an absolute path or '..': {', '.join(unsafe[:3])}")
        skipped = [f for f in inner if f.suffix.lower() == ".zip"]
        if skipped:
            entry.notes.append(f"{name}: zips inside a zip are not opened ({', '.join(f.name for f in skipped[:3])})")
        inner = [f for f in inner if f not in skipped]
        top = lab_dirs[0].relative_to(folder).parts[0] if lab_dirs and lab_dirs[0] != folder else ""
        if top and top != entry.student and entry.scope != LAB_FOLDER:
            where = "the LMS's" if entry.ids else "the download's"
            entry.notes.append(f"{name} holds the folder of {top!r}; graded as {entry.student} ({where} id wins)")
        for f in inner:
            shown[f] = f"{name}:{f.relative_to(folder)}"
            if outer in entry.file_ids:
                entry.file_ids[f] = entry.file_ids[outer]
        entry.paths += inner
    return entry.notes[before:]


def _listed(folder, name):
    """The members `archive.unpack` listed as left out of the zip unpacked in `folder`."""
    return json.loads((folder / name).read_text()) if (folder / name).exists() else []


def _submission(entry, lab, notebook_name, model_names, layout, nested_dir):
    if entry.problem:
        return Submission(
            entry.student, lab, missing_reason=entry.problem, status=Status.REJECTED, layout=layout, name=entry.name
        )
    shown = {}
    opened = _open_zips(entry, lab, nested_dir, shown)

    def show(path):
        return shown.get(path) or folders.shown(path, entry.base)

    notebook, reason, note = _pick_notebook(_notebooks(entry, lab), notebook_name, entry.where, show)
    files, model_notes = _model_files(entry.paths, model_names, show)
    ids = dict(entry.ids)
    if notebook is not None:
        ids.update(entry.file_ids.get(notebook, {}))
    submission = Submission(
        entry.student,
        lab,
        notebook,
        files,
        reason,
        entry.base,
        name=entry.name,
        layout=layout,
        ids=ids,
        submitted_at=entry.submitted_at,
        time_source=entry.time_source,
        lms_late=entry.lms_late,
    )
    notes = [n for n in [note] if n] + model_notes + entry.notes
    submission.notes += notes
    if submission.notebook is None:
        refusals = [n for n in notes if n.startswith("refused") or ": refused" in n]
        if refusals:
            submission.status = Status.REJECTED
        explained = refusals + [n for n in opened if n not in refusals]
        if explained:
            submission.missing_reason = "; ".join([submission.missing_reason or f"no notebook for {lab}"] + explained)
        submission.notes = []
    return submission


def detect(root, lms=None):
    """(layout name, the folder to read): `lms` when given, else the layout most top-level names follow."""
    items = [p for p in sorted(root.iterdir()) if not p.name.startswith(".")]
    if len(items) == 1 and items[0].is_dir() and not items[0].is_symlink() and lms != folders.NAME:
        inner, inner_root = detect(items[0], lms)
        if inner != folders.NAME and (lms is None or _reads(inner_root, inner)):
            return inner, inner_root
    if lms is not None:
        return lms, root
    if (root / gradescope.METADATA).is_file():
        return gradescope.NAME, root
    counts = {
        name: sum(LAYOUTS[name].matches(p.name) for p in items) for name in (canvas.NAME, moodle.NAME, blackboard.NAME)
    }
    best = max(counts, key=counts.get)
    if counts[best] and 2 * counts[best] >= len(items):
        return best, root
    return folders.NAME, root


def _reads(root, layout):
    if layout == gradescope.NAME:
        return (root / gradescope.METADATA).is_file()
    return any(LAYOUTS[layout].matches(p.name) for p in root.iterdir())


def read_layout(root, layout, lab, id_pattern, time_zone):
    """(entries, unplaced, warnings) of the download at `root` in `layout`."""
    if layout == folders.NAME:
        return folders.read(root, lab, id_pattern, _listed(root, archive.REFUSED))
    if layout == blackboard.NAME:
        return blackboard.read(root, time_zone)
    return LAYOUTS[layout].read(root)


def discover(
    root,
    lab,
    notebook_name,
    model_names,
    id_pattern=DEFAULT_ID_PATTERN,
    lms=None,
    roster=None,
    time_zone=None,
    nested_dir=None,
):
    """(submissions of one lab under `root`, warnings): one per student, including the roster's students with
    nothing for it. `lms` names the layout (default: detected); `roster` is a `roster.Roster` or None; `time_zone`
    reads the local times some LMSs give; `nested_dir` is where the zips among a student's files are unpacked."""
    root = Path(root)
    if lms is not None and lms not in LAYOUTS:
        raise GradingError(f"--lms {lms}: unknown; expected one of {', '.join(LAYOUTS)}")
    layout, folder = detect(root, lms)
    if roster is not None and roster.kind not in LAYOUTS[layout].ROSTERS:
        raise GradingError(
            f"--roster {roster.path} is a {roster.kind} roster, but the download is read as {layout} "
            f"({'--lms ' + lms if lms else 'detected'}); pass the roster of the same LMS (or --lms {roster.kind})"
        )
    entries, unplaced, warnings = read_layout(folder, layout, lab, id_pattern, time_zone)
    if nested_dir is None:
        import tempfile

        nested_dir = Path(tempfile.gettempdir()) / "cnnlab-nested"
    warnings = list(warnings) + [f"could not place {u.sentence()}" for u in unplaced]
    warnings += [
        f"could not place {m}: a zip member with an absolute path or '..'" for m in _listed(root, archive.SKIPPED)
    ]
    for entry in entries:
        _complete_from_roster(entry, roster, layout, warnings)
    submissions = {e.student: _submission(e, lab, notebook_name, model_names, layout, nested_dir) for e in entries}
    if roster is not None:
        warnings += roster.warnings
        for key, enrolled in roster.students.items():
            if key not in submissions:
                submissions[key] = Submission(
                    key,
                    lab,
                    missing_reason=f"nothing for {lab} in the {layout} download",
                    name=enrolled.name,
                    layout=layout,
                    ids=dict(enrolled.ids),
                )
    found = [submissions[s] for s in sorted(submissions)]
    for submission in found:
        if submission.notebook is None and not submission.missing_reason:
            submission.missing_reason = f"no notebook for {lab}"
    return found, warnings


def _complete_from_roster(entry, roster, layout, warnings):
    """The roster's name and ids join the download's; its time when the download has none (Moodle)."""
    if roster is None or entry.problem:
        return
    enrolled = roster.students.get(entry.student)
    if enrolled is None:
        shown = f" ({entry.name})" if entry.name else ""
        warnings.append(f"{entry.student}{shown} handed in for this lab but is not in the roster {roster.path}")
        return
    entry.name = enrolled.name or entry.name
    entry.ids = {**enrolled.ids, **entry.ids}
    if entry.submitted_at is None and enrolled.submitted_at:
        entry.submitted_at, entry.time_source = enrolled.submitted_at, enrolled.time_source


def file_digests(submission, notebook_name):
    """sha256 of each file graded, by its name in the scratch folder (the notebook under `notebook_name`)."""
    paths = ({notebook_name: submission.notebook} if submission.notebook else {}) | dict(submission.files)
    return {name: hashlib.sha256(Path(path).read_bytes()).hexdigest() for name, path in sorted(paths.items())}


def shard(submissions, index, count):
    """The deterministic slice `index` of `count`: by a hash of the student id, so it does not depend on the others."""
    if not 0 <= index < count:
        raise GradingError(f"--shard i/N needs 0 <= i < N. Received: {index}/{count}")
    return [s for s in submissions if int(hashlib.sha256(s.student.encode()).hexdigest(), 16) % count == index]
