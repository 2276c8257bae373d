"""What a batch keeps in `--out`: each result (`results/<lab>/<slug>.json`, the batch's resume points), the
students' feedback, nbgrader's gradebook (`gradebook`), grades.csv and the class report; and `merge` of sharded
runs. With each result it keeps what people read later: the answer cells (`answers/<lab>/<slug>.json`, for a TA and
the copying report), the fingerprints of the model files' weights (`weights/<lab>/<slug>/`) and the feedback
notebook (`feedback/<slug>/<lab>.ipynb`, written again when a TA's grades change it). The TA's grades
(`manual/<lab>.json`, `cnnlab.grading.handgrading.grades`) join the autograder's in grades.csv, the gradebook and
the feedback here; nothing here writes them."""

import csv
import json
import shutil
import tempfile
from pathlib import Path

from cnnlab.grading.errors import GradingError
from cnnlab.grading.handgrading import grades as manual_store
from cnnlab.grading.handgrading import refresh, standing
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


def kept_paths(out, lab, slug):
    """Where `out` keeps a submission's answers, weight fingerprints and feedback notebook."""
    out = Path(out)
    return {
        "answers.json": out / "answers" / lab / f"{slug}.json",
        "weights": out / "weights" / lab / slug,
        "autograded.ipynb": out / "feedback" / slug / f"{lab}.ipynb",
    }


def keep(out, lab, slug, work):
    """Replace what `out` keeps of a submission with what its worker left in `work` (removed where it left none:
    never an older grading's answers beside a newer result)."""
    for name, target in kept_paths(out, lab, slug).items():
        source = Path(work) / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if source.is_dir():
            shutil.copytree(source, target)
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)


def record(out, result, feedback_html):
    """Keep the result: feedback/, answers and weights, nbgrader's gradebook, then results/<lab>/<slug>.json (which
    marks it done)."""
    feedback = Path(out) / "feedback" / result.slug / f"{result.lab}.html"
    feedback.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(feedback_html, feedback)
    keep(out, result.lab, result.slug, Path(feedback_html).parent)
    gradebook.write(Path(out) / "gradebook.db", [result])
    _write_result(result_path(out, result.lab, result.slug), result)


def load_results(out):
    return [read_result(path) for path in sorted((Path(out) / "results").glob("*/*.json"))]


def manual_grades(out, results):
    """{lab: {student: {grade_id: ManualGrade}}} of the labs of `results`: the TA's grades kept in `out`."""
    return {lab: manual_store.manual_grades(out, lab) for lab in sorted({r.lab for r in results})}


def write_grades(out, results, manual=None):
    """grades.csv: a row per result, the TA's grades in its score and reason (`handgrading.standing`)."""
    out = Path(out)
    manual = manual_grades(out, results) if manual is None else manual
    with open(out / "grades.csv.tmp", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, CSV_FIELDS)
        writer.writeheader()
        for result in sorted(results, key=lambda r: (r.student, r.lab)):
            writer.writerow(standing.csv_row(result, manual.get(result.lab, {}).get(result.student, {})))
    (out / "grades.csv.tmp").replace(out / "grades.csv")


def write_outputs(out, results):
    """From every result kept in `out`, with the TA's grades: grades.csv, the feedback the grades change, the
    gradebook's manual scores, and the class report."""
    out = Path(out)
    manual = manual_grades(out, results)
    write_grades(out, results, manual)
    refresh.refresh_feedback(out, [r.to_json() for r in results], manual)
    if (out / "gradebook.db").exists():
        gradebook.write_manual(out / "gradebook.db", results, manual)
    from cnnlab.grading.results.report import write_report

    write_report(out / "report", [r.to_json() for r in results], out=out, manual=manual)


def merge(out, shards):
    """Combine the outputs of `grade --shard i/N` runs into `out`: results, feedback, answers and weights, the TA's
    grades, gradebook, csv, report."""
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
        kept = kept_paths(shard_dir, lab, result.slug)
        staged = {name: path for name, path in kept.items() if path.exists()}
        if staged:  # the shard's answers, weights and feedback notebook, as `keep` takes them from a worker
            with tempfile.TemporaryDirectory() as work:
                for name, path in staged.items():
                    (shutil.copytree if path.is_dir() else shutil.copy)(path, Path(work) / name)
                keep(out, lab, result.slug, work)
    for shard_dir in shards:  # the gradebook needs the assignments: take them from a shard's course
        shard_db = Path(shard_dir) / "gradebook.db"
        if shard_db.exists() and not (out / "gradebook.db").exists():
            shutil.copy(shard_db, out / "gradebook.db")
    for warning in manual_store.merge(out, shards):
        print(f"warning: {warning}")
    results = [r for r, _ in merged.values()]
    if (out / "gradebook.db").exists():
        gradebook.write(out / "gradebook.db", results)
    write_outputs(out, load_results(out))
    return results
