"""The final grade of one student's lab, from the kept result, the course's late policy and the overrides; the one
computation every output reads (grades.csv, the LMS gradebooks, the feedback's header, nbgrader's gradebook):

    the tests' scores (the autograder's, and the TA's for the questions a person grades: 0 while one waits),
    each test override replacing or adjusting its test
    - late penalty (`cnnlab.grading.course.late`; nothing submitted, nothing late)
    = score after the penalty; a `total` override then replaces or adjusts it: the final score.

A result with no score (`rejected`, `grader_error`: an instructor must look) has no final score unless a `total`
override sets one; its gradebook cells stay empty.
"""

from dataclasses import asdict, dataclass, field

from cnnlab.grading.errors import GradingError
from cnnlab.grading.results.overrides import TOTAL
from cnnlab.grading.results.standing import standing
from cnnlab.grading.results.status import Status


@dataclass
class FinalGrade:
    student: str
    lab: str
    status: str
    max_score: float
    raw: float | None  # the tests' automatic score; None when there is none
    # grade_id -> {"points", "auto", "score"} (after overrides); a question a TA grades also has "manual": True,
    # "pending" (it waits), "stale" (graded on an earlier answer) and the TA's "comment"
    tests: dict = field(default_factory=dict)
    score: float | None = None  # after the tests' overrides
    late: dict = field(default_factory=dict)  # `late.Late.to_json()`
    penalty: float = 0.0  # points the late policy took
    final: float | None = None
    overrides: list = field(default_factory=list)  # applied: the override's fields and the score before and after
    comments: list = field(default_factory=list)  # the TA's comments ("question: comment"), shown in the feedback

    def to_json(self):
        return asdict(self)

    @property
    def total_adjustment(self):
        """What a `total` override changed after the penalty (0 without one): nbgrader's extra credit."""
        if self.final is None or self.score is None:
            return 0.0
        return round(self.final - (self.score - self.penalty), 6)


def _check(value, low, high, override, what):
    if not low - 1e-9 <= value <= high + 1e-9:
        raise GradingError(
            f"overrides line {override.line}: {override.points} makes {what} {value:g}, outside 0 to {high:g}; "
            f"correct the override (a test keeps within its points, a total within the lab's)"
        )


def final_grade(result, late, overrides, manual=None):
    """The `FinalGrade` of `result` (a `GradingResult`) under `late` (`Late.to_json()` or {}), `overrides` (this
    student's and lab's, in file order) and `manual`, the TA's grades of this student ({grade_id: ManualGrade},
    `cnnlab.grading.results.manual`). Raises GradingError for an override that cannot apply."""
    status = Status(result.status)
    has_score = status.in_gradebook
    grade = FinalGrade(
        result.student,
        result.lab,
        status.value,
        result.max_score,
        result.score if has_score else None,
        late=dict(late),
    )
    tests = {c["grade_id"]: {"points": c["points"], "auto": c["score"], "score": c["score"]} for c in result.cells}
    for question in standing(result, manual or {}).questions:
        ta = question.grade
        tests[question.grade_id].update(
            auto=None,
            score=ta.points if ta else 0.0,
            manual=True,
            pending=ta is None,
            stale=question.stale,
            comment=ta.comment if ta else "",
        )
        if ta and ta.comment:
            grade.comments.append(f"{question.grade_id}: {ta.comment}")
    for override in overrides:
        if override.test == TOTAL:
            continue
        if override.test not in tests:
            known = ", ".join(tests) or f"none: the result is {status.value}; use a total override"
            raise GradingError(
                f"overrides line {override.line}: {result.student} {result.lab} has no test {override.test!r} "
                f"(its tests: {known})"
            )
        before = tests[override.test]["score"]
        after = override.apply(before)
        _check(after, 0, tests[override.test]["points"], override, override.test)
        tests[override.test]["score"] = after
        grade.overrides.append({**override.to_json(), "before": before, "after": after})
    grade.tests = tests
    if has_score:
        grade.score = round(sum(t["score"] for t in tests.values()), 6) if tests else result.score
        if status is not Status.MISSING and late:
            grade.penalty = penalty(late, grade.score, result.max_score)
        grade.final = round(max(0.0, grade.score - grade.penalty), 6)
    for override in overrides:
        if override.test != TOTAL:
            continue
        if grade.final is None and override.relative:
            raise GradingError(
                f"overrides line {override.line}: {result.student} {result.lab} has no score "
                f"({status.value}) to adjust by {override.points}; set it (e.g. 10) after looking at the work"
            )
        before = grade.final
        after = override.apply(before or 0.0)
        _check(after, 0, result.max_score, override, "the total")
        grade.final = round(after, 6)
        grade.overrides.append({**override.to_json(), "before": before, "after": grade.final})
    return grade


def penalty(late, score, max_score):
    """The points a lateness (`Late.to_json()`) takes from `score` of `max_score`: its percent of the lab's points or
    of the score, never more than the score."""
    base = max_score if late.get("of") == "points" else score
    return round(min(score, late.get("percent", 0) / 100 * base), 6)


def shown(points):
    """Points as the gradebooks get them: at most 2 decimals, no trailing zeros ("" for no score)."""
    return "" if points is None else f"{round(points, 2):g}"
