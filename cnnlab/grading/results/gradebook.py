"""nbgrader's gradebook (`--out/gradebook.db`, SQLite) as the grader keeps it: one submission per student and lab,
the `auto_score` of each graded cell; brought in line with the kept results on every run.

A cell a person grades gets no `auto_score` (as nbgrader's autograde leaves it) and `needs_manual_grade` until a TA
grades it; its `manual_score` and the comment on its answer (`manual_comment`) mirror the TA's grades kept in
`--out/manual/<lab>.json` (`write_manual`), which the autograder's writes never touch: nbgrader's own views
(formgrader, `nbgrader export`) then show the totals grades.csv shows."""


def _gradebook(db):
    import warnings

    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own autoflush warnings on a new submission
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


def write_manual(db, results, manual):
    """The TA's grades (`manual`: {lab: {student: {grade_id: ManualGrade}}}) as nbgrader keeps them: each question's
    `manual_score` and its answer's `manual_comment`, `needs_manual_grade` while it waits or after its answer changed.
    A manual score nbgrader holds that the TA's grades do not (given in nbgrader's formgrader) is left as it is."""
    from nbgrader.api import MissingEntry

    from cnnlab.grading.handgrading.standing import standing

    with _gradebook(db) as gb:
        for result in results:
            if not result.status.in_gradebook:
                continue
            now = standing(result, manual.get(result.lab, {}).get(result.student, {}))
            if not now.questions:
                continue
            try:
                submission = gb.find_submission(result.lab, result.student)
            except MissingEntry:  # not written yet: `write` makes it, and the next call fills it in
                continue
            questions = {q.grade_id: q for q in now.questions}
            changed = False
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    question = questions.get(grade.name)
                    if question is None:
                        continue
                    wanted = (
                        (question.grade.points, question.stale)
                        if question.grade is not None
                        else (grade.manual_score, grade.manual_score is None)
                    )
                    if (grade.manual_score, grade.needs_manual_grade) != wanted:
                        grade.manual_score, grade.needs_manual_grade = wanted
                        changed = True
                for comment in notebook.comments:
                    question = questions.get(comment.name)
                    if question is not None and question.grade is not None:
                        text = question.grade.comment or None
                        if comment.manual_comment != text:
                            comment.manual_comment = text
                            changed = True
            if changed:
                gb.db.commit()


def sync(db, lab, results):
    """Write into the gradebook the kept results of `lab` it lacks or scores differently (a run killed between
    the two writes); returns the students written. Only the autograder's scores are compared: a TA's are
    `write_manual`'s."""
    from nbgrader.api import MissingEntry

    stale = []
    with _gradebook(db) as gb:
        for result in results:
            if result.lab != lab or not result.status.in_gradebook:
                continue
            try:
                submission = gb.find_submission(lab, result.student)
                auto = sum(g.auto_score or 0.0 for notebook in submission.notebooks for g in notebook.grades)
                if abs(auto - result.score) < 1e-9:
                    continue
            except MissingEntry:
                pass
            stale.append(result)
    if stale:
        write(db, stale)
    return [r.student for r in stale]
