"""A submission's standing once the TA's grades join the autograder's: its total, the questions that wait for a TA,
and the grades given to an earlier answer (a resubmission changed it: the grade still counts, as nbgrader keeps a
manual score, and a TA should look again).

`standing(result, grades)` takes a result (`GradingResult` or its JSON) and the student's grades
({grade_id: ManualGrade}, one student's part of `manual.manual_grades(out, lab)`); its `total` is what grades.csv,
the gradebook and the LMS exports count. A question a TA has not graded yet counts 0 and is named, so a total is
never mistaken for a final one.
"""

import copy
import hashlib
import json
from dataclasses import dataclass, field


@dataclass
class Question:
    grade_id: str
    points: float  # the question's
    answer_sha256: str  # the answer graded now
    grade: object = None  # its `ManualGrade`, or None: it waits for a TA

    @property
    def stale(self):
        """Graded, but on an earlier answer than the one graded now."""
        return self.grade is not None and self.grade.answer_sha256 != self.answer_sha256


@dataclass
class Standing:
    score: float  # the autograder's points
    max_score: float  # every question's, the TA's included
    questions: list = field(default_factory=list)  # the questions a TA grades

    @property
    def manual_points(self):
        return sum(q.grade.points for q in self.questions if q.grade is not None)

    @property
    def total(self):
        return self.score + self.manual_points

    @property
    def pending(self):
        return [q for q in self.questions if q.grade is None]

    @property
    def stale(self):
        return [q for q in self.questions if q.stale]

    def summary(self):
        """What the TA's part adds to a result's reason ("" when the lab has no question a TA grades)."""
        if not self.questions:
            return ""
        parts = []
        graded = [q for q in self.questions if q.grade is not None]
        if graded:
            parts.append(
                "graded by a TA: "
                + ", ".join(
                    f"{q.grade_id} {q.grade.points:g} of {q.points:g}" + (" (on an earlier answer)" if q.stale else "")
                    for q in graded
                )
            )
        if self.pending:
            waiting = sum(q.points for q in self.pending)
            names = ", ".join(q.grade_id for q in self.pending)
            parts.append(f"{waiting:g} point{'s' if waiting != 1 else ''} wait for a TA ({names})")
        if self.stale:
            names = ", ".join(q.grade_id for q in self.stale)
            parts.append(f"the answer to {names} changed after it was graded: a TA should look again")
        lead = "So far" if self.pending else "With the TA's grades,"
        return f"{lead} {self.total:g} of {self.max_score:g} points; " + "; ".join(parts) + "."


def _get(result, key):
    return result[key] if isinstance(result, dict) else getattr(result, key)


def standing(result, grades):
    """The `Standing` of `result` with the student's `grades` ({grade_id: ManualGrade}); a grade of a question the
    result does not hold (removed from the lab) is left out."""
    questions = [
        Question(cell["grade_id"], float(cell["points"]), cell.get("answer_sha256", ""), grades.get(cell["grade_id"]))
        for cell in _get(result, "cells")
        if cell.get("path") == "manual"
    ]
    return Standing(float(_get(result, "score")), float(_get(result, "max_score")), questions)


def csv_row(result, grades):
    """`result`'s row of grades.csv with the TA's grades: their points in the score, the reason (after the
    autograder's) saying which questions a TA graded and which still wait."""
    row = result.csv_row()
    now = standing(result, grades)
    if now.questions:
        row["score"] = f"{now.total:g}"
        row["reason"] = f"{row['reason']} {now.summary()}"
    return row


def apply(result_json, grades):
    """A copy of a result's JSON with the TA's grades in: each question's `score`, `state` ("graded by a TA" or
    "manual": it waits), `comment` and `stale`, the total `score`, and the reason saying what the TA's part adds."""
    result = copy.deepcopy(result_json)
    now = standing(result, grades)
    by_id = {q.grade_id: q for q in now.questions}
    for cell in result["cells"]:
        question = by_id.get(cell["grade_id"]) if cell.get("path") == "manual" else None
        if question is None:
            continue
        if question.grade is not None:
            cell.update(
                score=question.grade.points,
                state="graded by a TA",
                comment=question.grade.comment,
                stale=question.stale,
            )
        else:
            cell.update(score=0.0, state="manual", comment="", stale=False)
    result["score"] = now.total
    result["reason"] = f"{result['reason']} {now.summary()}".strip()
    return result


def stamp(result_json, grades):
    """A digest of what the TA's grades change in the student's feedback: the feedback is written again when it
    differs from the one it was written with."""
    now = standing(result_json, grades)
    state = [
        (q.grade_id, q.grade.points, q.grade.comment, q.stale) if q.grade else (q.grade_id, None) for q in now.questions
    ]
    return hashlib.sha256(json.dumps([now.score, state]).encode()).hexdigest()[:16]
