"""A submission's result: what the worker finds, what the batch keeps in `results/<lab>/<slug>.json`.

Built here only: the worker fills one in, the batch makes one itself when the worker could not (a timeout, a
worker that died), and every later run reads the kept ones back (`from_json(to_json())` is the same result, and
`to_json()` writes the keys in the order the files have always had). Its cells and model checks stay plain
dicts, as the feedback, the report and the gradebook read them."""

from dataclasses import dataclass, field

from cnnlab.grading.results.status import Status

CSV_FIELDS = ("student", "lab", "score", "max_score", "status", "reason")
# the keys of a result file, in their order; the optional ones only when set
_KEYS = (
    "student",
    "slug",
    "lab",
    "status",
    "reason",
    "score",
    "max_score",
    "cells",
    "models",
    "notes",
    "timings",
    "isolation",
)
_OPTIONAL = (
    "model_runs",
    "traceback",
    "files_sha256",
    "unsafe_no_sandbox",
    "input_hash",
    "submission",
    "late",
    "release",
)


@dataclass
class GradingResult:
    student: str
    lab: str
    max_score: float
    isolation: str
    slug: str = ""  # the student's id as a safe folder name; the id itself when it is ASCII
    status: Status = Status.GRADED
    reason: str = ""
    score: float = 0.0
    cells: list[dict] = field(default_factory=list)  # per graded cell: grade_id, points, score, state, path, ...
    models: list[dict] = field(default_factory=list)  # one dict per model check (`checks.CheckResult.to_json()`)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    model_runs: list[dict] | None = None  # per model file (`checks.ModelRun.to_json()`), when the lab has models
    traceback: str | None = None  # where the grader failed (status grader_error)
    files_sha256: dict[str, str] | None = None  # the files graded, by name (the report's identical files)
    unsafe_no_sandbox: bool | None = None  # True when graded without a jail
    input_hash: str | None = None  # the files and settings graded: a re-run keeps the result while they are the same
    submission: dict | None = None  # who handed it in and when (`intake.discover.Submission.identity()`)
    late: dict | None = None  # its lateness under the course's policy (`course.late.Late`), refreshed by each run
    release: dict | None = None  # the lab's release the notebook came from, what was brought forward (`worker.restore`)
    extra: dict = field(default_factory=dict)  # keys of an older grader's result file, kept as they were

    def __post_init__(self):
        self.slug = self.slug or self.student
        self.status = Status(self.status)

    def note(self, text, status=None):
        """Add a note; with a `status`, the result's status becomes the more severe of the two."""
        if status is not None:
            self.status = self.status.raised_to(status)
        self.notes.append(text)

    def summary(self):
        """One sentence for grades.csv: notes first, then what failed, each model's failed checks with numbers after
        its own test. With questions a TA grades, the points are the autograded ones (grades.csv adds the TA's:
        `cnnlab.grading.results.standing`)."""
        checks = {}
        for check in self.models:
            if (
                not check["passed"]
                and "missing" not in check["message"]
                and "could not be loaded" not in check["message"]
            ):
                checks.setdefault(check["model"], []).append(check["message"])
        failed = []
        for cell in self.cells:
            if cell["state"] in ("failed", "partial", "not run"):
                model = cell.get("model")
                failed.append(
                    f"{cell['grade_id']} ({model}: {', '.join(checks.pop(model))})"
                    if model in checks
                    else cell["grade_id"]
                )
        failed += [f"{model}: {', '.join(messages)}" for model, messages in checks.items()]  # a model of no test cell
        parts = list(self.notes)
        if self.status is Status.GRADED and not parts:
            parts.append("all tests passed" if not failed else f"failed: {', '.join(failed)}")
        elif failed and self.status is not Status.TAMPERED:
            parts.append(f"failed: {', '.join(failed)}")
        manual = sum(cell["points"] for cell in self.cells if cell.get("path") == "manual")  # a TA's, added later
        if manual:
            return f"{self.score:g} of {self.max_score - manual:g} autograded points; " + "; ".join(parts) + "."
        return f"{self.score:g} of {self.max_score:g} points; " + "; ".join(parts) + "."

    def csv_row(self):
        """Its row of grades.csv (`CSV_FIELDS`)."""
        return {
            "student": self.student,
            "lab": self.lab,
            "score": f"{self.score:g}",
            "max_score": f"{self.max_score:g}",
            "status": self.status.value,
            "reason": self.reason,
        }

    def to_json(self):
        data = {key: getattr(self, key) for key in _KEYS}
        data["status"] = self.status.value
        data.update({key: getattr(self, key) for key in _OPTIONAL if getattr(self, key) is not None})
        data.update(self.extra)
        return data

    @classmethod
    def from_json(cls, data):
        known = {key: data[key] for key in _KEYS + _OPTIONAL if key in data}
        return cls(**known, extra={key: value for key, value in data.items() if key not in known})
