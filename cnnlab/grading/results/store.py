"""What a batch keeps in `--out`: each result (`results/<lab>/<slug>.json`, the batch's resume points), the
students' feedback, nbgrader's gradebook (`gradebook`), grades.csv and the class report; and `merge` of sharded
runs."""

import csv
import json
import shutil
from pathlib import Path

from cnnlab.grading.errors import GradingError
from cnnlab.grading.results import gradebook
from cnnlab.grading.results.result import CSV_FIELDS, GradingResult


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
        raise GradingError(
            f"{path}: not a result this grader can read ({type(error).__name__}: {error}); "
            f"remove it to grade that submission again"
        ) from None


def record(out, result, feedback_html):
    """Keep the result: feedback/, nbgrader's gradebook, then results/<lab>/<slug>.json (which marks it done)."""
    feedback = Path(out) / "feedback" / result.slug / f"{result.lab}.html"
    feedback.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(feedback_html, feedback)
    gradebook.write(Path(out) / "gradebook.db", [result])
    _write_result(result_path(out, result.lab, result.slug), result)


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
    from cnnlab.grading.results.report import write_report

    write_report(out / "report", [r.to_json() for r in results])


def merge(out, shards):
    """Combine the outputs of `grade --shard i/N` runs into `out`: results, feedback, gradebook, csv, report."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    merged = {}
    for shard_dir in shards:
        shard_dir = Path(shard_dir)
        if not (shard_dir / "results").is_dir():
            raise GradingError(
                f"{shard_dir}: not a grader output (no results/ folder); pass the --out folders of the shards"
            )
        for result in load_results(shard_dir):
            key = (result.lab, result.student)
            if key in merged and merged[key][0].input_hash != result.input_hash:
                print(
                    f"warning: {result.student} {result.lab} graded in two shards with different files; "
                    f"keeping {shard_dir}"
                )
            merged[key] = (result, shard_dir)
    for (lab, _student), (result, shard_dir) in sorted(merged.items()):
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
        gradebook.write(out / "gradebook.db", results)
    write_outputs(out, load_results(out))
    return results
