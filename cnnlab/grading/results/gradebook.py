"""nbgrader's gradebook (`--out/gradebook.db`, SQLite) as the grader keeps it: one submission per student and lab,
the `auto_score` of each graded cell; brought in line with the kept results on every run."""


def write(db, results):
    """Scores into nbgrader's gradebook: one submission per student and lab, auto_score per graded cell.

    Results the gradebook does not take (rejected intake, grader errors) are left out."""
    import warnings

    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own autoflush warnings on a new submission

    with Gradebook(f"sqlite:///{db}") as gb:
        for result in results:
            if not result.status.in_gradebook:
                continue
            gb.update_or_create_student(result.student)
            submission = gb.update_or_create_submission(result.lab, result.student)
            scores = {c["grade_id"]: c["score"] for c in result.cells}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = scores.get(grade.name, 0.0)
                    grade.needs_manual_grade = False
            gb.db.commit()


def sync(db, lab, results):
    """Write into the gradebook the kept results of `lab` it lacks or scores differently (a run killed between
    the two writes); returns the students written."""
    from nbgrader.api import Gradebook, MissingEntry

    stale = []
    with Gradebook(f"sqlite:///{db}") as gb:
        for result in results:
            if result.lab != lab or not result.status.in_gradebook:
                continue
            try:
                if abs(gb.find_submission(lab, result.student).score - result.score) < 1e-9:
                    continue
            except MissingEntry:
                pass
            stale.append(result)
    if stale:
        write(db, stale)
    return [r.student for r in stale]
