"""nbgrader's gradebook (`--out/gradebook.db`, SQLite) as the grader keeps it: one submission per student and lab,
the `auto_score` of each graded cell (written as each submission is graded, brought in line with the kept results
on every run), and what makes the final grade, in nbgrader's own terms (written by every run, `write_final`):

- a question a person grades: no `auto_score` (as nbgrader's autograde leaves it), `needs_manual_grade` while it
  waits for a TA or after its answer changed, then the TA's points as its `manual_score` and the TA's comment as
  its answer's `manual_comment` (the TA's grades live in `--out/manual/<lab>.json`; nbgrader's own views,
  formgrader and `nbgrader export`, then show the totals grades.csv shows);
- a test override: the cell's `manual_score` (nbgrader's score is the manual score when there is one);
- a `total` override: `extra_credit` on the lab's first graded cell (what it changed after the penalty);
- the late penalty: the notebook's `late_submission_penalty`; the submission's `timestamp` (UTC), the assignment's
  `duedate` and the student's `extension`.

So nbgrader's `score - late_submission_penalty` of every submission is the final score of the exports. A change
made by hand in gradebook.db is undone by the next run: overrides belong in the overrides file.
"""

import datetime

from cnnlab.grading.course.nbgrader_app import read_alembic_head_here


def _gradebook(db):
    import warnings

    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own autoflush warnings on a new submission
    read_alembic_head_here()
    return Gradebook(f"sqlite:///{db}")


def write(db, results):
    """Scores into nbgrader's gradebook: one submission per student and lab, auto_score per graded cell; a cell a
    person grades keeps its manual score and comment.

    Results the gradebook does not take (rejected intake, grader errors) are left out."""
    with _gradebook(db) as gb:
        for result in results:
            if not result.status.in_gradebook:
                continue
            gb.update_or_create_student(result.student)
            submission = gb.update_or_create_submission(result.lab, result.student)
            scores = {c["grade_id"]: c["score"] for c in result.cells}
            manual = {c["grade_id"] for c in result.cells if c.get("path") == "manual"}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name in manual:  # a TA's: never the autograder's to write
                        grade.auto_score = None
                        grade.needs_manual_grade = grade.manual_score is None or grade.needs_manual_grade
                        continue
                    grade.auto_score = scores.get(grade.name, 0.0)
                    grade.needs_manual_grade = False
            gb.db.commit()


def _auto(submission):
    return sum(g.auto_score or 0.0 for notebook in submission.notebooks for g in notebook.grades)


def sync(db, lab, results):
    """Write into the gradebook the kept results of `lab` it lacks or scores differently (a run killed between
    the two writes); returns the students written. Only the autograder's scores are compared."""
    from nbgrader.api import MissingEntry

    stale = []
    with _gradebook(db) as gb:
        for result in results:
            if result.lab != lab or not result.status.in_gradebook:
                continue
            try:
                if abs(_auto(gb.find_submission(lab, result.student)) - result.score) < 1e-9:
                    continue
            except MissingEntry:
                pass
            stale.append(result)
    if stale:
        write(db, stale)
    return [r.student for r in stale]


def _utc(iso):
    """An ISO 8601 time as nbgrader keeps times: naive, in UTC."""
    if not iso:
        return None
    return datetime.datetime.fromisoformat(iso).astimezone(datetime.timezone.utc).replace(tzinfo=None)


def write_final(db, lab, finals, due=None):
    """The TA's grades, overrides, late penalties, times and the due date of `lab` into the gradebook (`finals`:
    student -> `final.FinalGrade`, `due`: the lab's due date, ISO 8601); only what differs is written. The gradebook
    mirrors the grader's files: a manual score given in nbgrader itself (formgrader) to a question whose grade the
    TA's page does not hold is replaced, and named in the returned notes (for the class report)."""
    from nbgrader.api import MissingEntry

    notes = []
    with _gradebook(db) as gb:
        try:
            assignment = gb.find_assignment(lab)
        except MissingEntry:
            return notes
        lab_due = _utc(due)
        if assignment.duedate != lab_due:
            assignment.duedate = lab_due
        for student, final in finals.items():
            try:
                submission = gb.find_submission(lab, student)
            except MissingEntry:
                continue
            overridden = {o["test"] for o in final.overrides}
            grades = [g for notebook in submission.notebooks for g in notebook.grades]
            for index, grade in enumerate(grades):
                test = final.tests.get(grade.name, {})
                by_ta = test.get("manual") and not test.get("pending")
                manual = test["score"] if grade.name in overridden or by_ta else None
                extra = (final.total_adjustment or None) if index == 0 else None
                waits = (
                    bool(test.get("manual"))
                    and grade.name not in overridden
                    and (test.get("pending") or test.get("stale"))
                )
                if grade.manual_score != manual:
                    if test.get("pending") and grade.name not in overridden and grade.manual_score is not None:
                        notes.append(
                            f"gradebook.db held a manual score of {grade.manual_score:g} for {student}'s {grade.name}, "
                            f"given outside cnnlab's TA page; the gradebook mirrors --out/manual/{lab}.json, so it was "
                            f"removed: grade it with `python -m autograder handgrade --lab {lab} --out ...`"
                        )
                    grade.manual_score = manual
                if grade.extra_credit != extra:
                    grade.extra_credit = extra
                if test.get("manual") and grade.needs_manual_grade != waits:
                    grade.needs_manual_grade = waits
            for notebook in submission.notebooks:
                for comment in notebook.comments:
                    text = final.tests.get(comment.name, {}).get("comment") or None
                    if final.tests.get(comment.name, {}).get("manual") and comment.manual_comment != text:
                        comment.manual_comment = text
            for notebook in submission.notebooks[:1]:
                if (notebook.late_submission_penalty or 0.0) != final.penalty:
                    notebook.late_submission_penalty = final.penalty or None
            timestamp = _utc(final.late.get("submitted_at"))
            if submission.timestamp != timestamp:
                submission.timestamp = timestamp
            own_due = _utc(final.late.get("due")) if final.late.get("extended") else None
            extension = (own_due - lab_due) if own_due and lab_due else None
            if submission.extension != extension:
                submission.extension = extension
        gb.db.commit()
    return notes
