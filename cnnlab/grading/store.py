"""What a batch keeps in `--out`: each result (`results/<lab>/<slug>.json`, the batch's resume points), the
students' feedback, nbgrader's gradebook, grades.csv and the class report; and `merge` of sharded runs."""

import csv
import json
import shutil
from pathlib import Path

from cnnlab.grading.errors import GradingError
from cnnlab.grading.result import CSV_FIELDS, GradingResult


def result_path(out, lab, slug):
    return Path(out) / "results" / lab / f"{slug}.json"


def _write_result(path, result):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=1))
    tmp.replace(path)


def read_result(path):
    try:
        return GradingResult.from_json(json.loads(Path(path).read_text()))
    except (ValueError, TypeError, KeyError) as error:
        raise GradingError(f"{path}: not a result this grader can read ({type(error).__name__}: {error}); "
                           f"remove it to grade that submission again") from None


def record(out, result, feedback_html):
    """Keep the result: feedback/, nbgrader's gradebook, then results/<lab>/<slug>.json (which marks it done)."""
    feedback = Path(out) / "feedback" / result.slug / f"{result.lab}.html"
    feedback.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(feedback_html, feedback)
    write_gradebook(Path(out) / "gradebook.db", [result])
    _write_result(result_path(out, result.lab, result.slug), result)


def write_gradebook(db, results):
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


def sync_gradebook(db, lab, results):
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
        write_gradebook(db, stale)
    return [r.student for r in stale]


def load_results(out):
    return [read_result(path) for path in sorted((Path(out) / "results").glob("*/*.json"))]


def write_outputs(out, results):
    """grades.csv and the class report from every result kept in `out`."""
    out = Path(out)
    with open(out / "grades.csv.tmp", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, CSV_FIELDS)
        writer.writeheader()
        for result in sorted(results, key=lambda r: (r.student, r.lab)):
            writer.writerow(result.csv_row())
    (out / "grades.csv.tmp").replace(out / "grades.csv")
    from cnnlab.grading.report import write_report

    write_report(out / "report", [r.to_json() for r in results])


def merge(out, shards):
    """Combine the outputs of `grade --shard i/N` runs into `out`: results, feedback, gradebook, csv, report."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    merged = {}
    for shard_dir in shards:
        shard_dir = Path(shard_dir)
        if not (shard_dir / "results").is_dir():
            raise GradingError(f"{shard_dir}: not a grader output (no results/ folder); pass the --out folders of "
                               f"the shards")
        for result in load_results(shard_dir):
            key = (result.lab, result.student)
            if key in merged and merged[key][0].input_hash != result.input_hash:
                print(f"warning: {result.student} {result.lab} graded in two shards with different files; "
                      f"keeping {shard_dir}")
            merged[key] = (result, shard_dir)
    for (lab, student), (result, shard_dir) in sorted(merged.items()):
        _write_result(result_path(out, lab, result.slug), result)
        feedback = shard_dir / "feedback" / result.slug / f"{lab}.html"
        if feedback.exists():
            (out / "feedback" / result.slug).mkdir(parents=True, exist_ok=True)
            shutil.copy(feedback, out / "feedback" / result.slug / f"{lab}.html")
    for shard_dir in shards:  # the gradebook needs the assignments: take them from a shard's course
        shard_db = Path(shard_dir) / "gradebook.db"
        if shard_db.exists() and not (out / "gradebook.db").exists():
            shutil.copy(shard_db, out / "gradebook.db")
    results = [r for r, _ in merged.values()]
    if (out / "gradebook.db").exists():
        write_gradebook(out / "gradebook.db", results)
    write_outputs(out, load_results(out))
    return results
