"""The TA's grades of the questions a person grades, kept in `--out/manual/<lab>.json`: the only place they live.

    {"lab": "lab5_googlenet", "format": 1,
     "grades": {"<student id>": {"<grade_id>": {"points": 1.5, "comment": "...", "rubric": [0, 2],
                                                "answer_sha256": "...", "grader": "ta1", "time": "...",
                                                "version": 2}}}}

A grade is keyed by the student's id (the LMS identity, never a display name) and the question's grade_id, and holds
the digest of the answer it was given to (`cells.answer_digest`): the autograder never writes here, so a rerun never
changes a grade; a resubmission whose answer changed keeps its grade, marked for a TA to look again
(`standing`). Every save takes a lock, checks that the grade is still the one the TA's page showed (`version`:
two TAs on one question never overwrite each other unseen), writes the file atomically and appends a line to
`manual/<lab>.log` (who changed what, from what). nbgrader's gradebook mirrors these grades
(`cnnlab.grading.results.gradebook.write_final`); what is here wins.

`manual_grades(out, lab)` is what other steps read: {student: {grade_id: ManualGrade}}.
"""

import fcntl
import json
import math
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from cnnlab.grading.errors import GradingError

FORMAT = 1
MAX_COMMENT = 10_000  # characters


@dataclass(frozen=True)
class ManualGrade:
    points: float
    comment: str
    answer_sha256: str  # the answer the grade was given to
    rubric: tuple = ()  # the indices of the rubric's items the TA ticked
    grader: str = ""
    time: str = ""  # when it was saved (UTC, ISO 8601)
    version: int = 1  # counts the saves of this grade

    def to_json(self):
        data = asdict(self)
        data["rubric"] = list(self.rubric)
        return data

    @classmethod
    def from_json(cls, data):
        return cls(
            points=float(data["points"]),
            comment=str(data.get("comment", "")),
            answer_sha256=str(data.get("answer_sha256", "")),
            rubric=tuple(int(i) for i in data.get("rubric", ())),
            grader=str(data.get("grader", "")),
            time=str(data.get("time", "")),
            version=int(data.get("version", 1)),
        )


@dataclass
class Change:
    """One grade a TA saves: the question's `max_points` bound it; `seen_version` is the version of the grade the
    TA's page showed (0: none), refused when the grade changed since."""

    student: str
    grade_id: str
    points: float
    comment: str
    answer_sha256: str
    max_points: float
    rubric: tuple = ()
    seen_version: int | None = None  # None: no check (a script that means to overwrite)


class EditConflict(GradingError):
    """The grade changed after the TA's page showed it: nothing was saved."""


def store_path(out, lab):
    return Path(out) / "manual" / f"{lab}.json"


def log_path(out, lab):
    return Path(out) / "manual" / f"{lab}.log"


def manual_grades(out, lab):
    """{student id: {grade_id: ManualGrade}} of `lab` kept in `out`; {} when no TA has graded yet."""
    return _read(store_path(out, lab), lab)


def _read(path, lab):
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("lab") != lab:
            raise ValueError(f"expected format {FORMAT} of lab {lab}")
        return {
            student: {grade_id: ManualGrade.from_json(grade) for grade_id, grade in questions.items()}
            for student, questions in data["grades"].items()
        }
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise GradingError(
            f"{path}: not a store of manual grades this grader can read ({type(error).__name__}: {error}); "
            f"restore it from a backup, or rebuild it from {log_path(path.parent.parent, lab)}"
        ) from None


def _write(path, lab, grades):
    data = {
        "lab": lab,
        "format": FORMAT,
        "grades": {
            student: {grade_id: grade.to_json() for grade_id, grade in sorted(questions.items())}
            for student, questions in sorted(grades.items())
        },
    }
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=1, ensure_ascii=False)
        file.flush()
        os.fsync(file.fileno())
    tmp.replace(path)


@contextmanager
def _locked(out, lab):
    """The store of `lab` locked against other savers (another TA's server, a merge) while the block runs."""
    folder = Path(out) / "manual"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{lab}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def check_points(points, max_points, where):
    """`points` as a float in [0, max_points], or GradingError saying what was wrong."""
    try:
        value = float(points)
    except (TypeError, ValueError):
        raise GradingError(f"{where}: points must be a number from 0 to {max_points:g}. Received: {points!r}") from None
    if not math.isfinite(value) or not 0 <= value <= max_points:
        raise GradingError(f"{where}: points must be from 0 to {max_points:g}. Received: {points!r}")
    return round(value, 4)


def save(out, lab, changes, grader=""):
    """Save `changes` (a list of `Change`) at once: all or none. Returns {(student, grade_id): ManualGrade}.

    Raises GradingError for points out of bounds, EditConflict when a grade changed since its page was shown."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    checked = []
    for change in changes:
        where = f"{change.student}, {change.grade_id}"
        points = check_points(change.points, change.max_points, where)
        comment = str(change.comment).replace("\r\n", "\n").strip()
        if len(comment) > MAX_COMMENT:
            raise GradingError(f"{where}: the comment has {len(comment):,} characters, over {MAX_COMMENT:,}")
        checked.append((change, points, comment))
    saved = {}
    with _locked(out, lab):
        path = store_path(out, lab)
        grades = _read(path, lab)
        for change, _points, _comment in checked:
            current = grades.get(change.student, {}).get(change.grade_id)
            version = current.version if current else 0
            if change.seen_version is not None and change.seen_version != version:
                raise EditConflict(_conflict(change, current))
        log_lines = []
        for change, points, comment in checked:
            current = grades.get(change.student, {}).get(change.grade_id)
            grade = ManualGrade(
                points=points,
                comment=comment,
                answer_sha256=change.answer_sha256,
                rubric=tuple(sorted(set(change.rubric))),
                grader=grader,
                time=now,
                version=(current.version if current else 0) + 1,
            )
            grades.setdefault(change.student, {})[change.grade_id] = grade
            saved[(change.student, change.grade_id)] = grade
            log_lines.append(
                json.dumps(
                    {
                        "time": now,
                        "grader": grader,
                        "student": change.student,
                        "grade_id": change.grade_id,
                        "grade": grade.to_json(),
                        "before": current.to_json() if current else None,
                    },
                    ensure_ascii=False,
                )
            )
        _write(path, lab, grades)
        with open(log_path(out, lab), "a", encoding="utf-8") as log:
            log.write("".join(line + "\n" for line in log_lines))
    return saved


def _conflict(change, current):
    where = f"{change.student}, {change.grade_id}"
    if current is None:
        return f"{where}: the grade was removed after your page showed it; nothing was saved: reload the page"
    who = f" by {current.grader}" if current.grader else ""
    return (
        f"{where}: the grade was changed{who} at {current.time} after your page showed it (now "
        f"{current.points:g} points); nothing was saved: reload the page to see it"
    )


def merge(out, shard_dirs):
    """Bring the manual grades of `shard_dirs` (the --out folders of `grade --shard` runs) into `out`'s store, lab by
    lab; where two hold another grade of one question, the one saved more often, then later, wins. Returns one
    warning line for each such question."""
    warnings = []
    labs = sorted({p.stem for d in shard_dirs for p in (Path(d) / "manual").glob("*.json")})
    for lab in labs:
        with _locked(out, lab):
            grades = _read(store_path(out, lab), lab)
            for shard in shard_dirs:
                for student, questions in _read(store_path(shard, lab), lab).items():
                    mine = grades.setdefault(student, {})
                    for grade_id, grade in questions.items():
                        current = mine.get(grade_id)
                        if current is not None and current != grade:
                            warnings.append(
                                f"{student} {lab} {grade_id}: two manual grades ({current.points:g} and "
                                f"{grade.points:g} points); keeping the one saved "
                                + ("more often" if current.version != grade.version else "later")
                            )
                        if current is None or (grade.version, grade.time) > (current.version, current.time):
                            mine[grade_id] = grade
            _write(store_path(out, lab), lab, grades)
    return warnings
