"""What a batch keeps in `--out`: each result (`results/<lab>/<slug>.json`, the batch's resume points), the
students' feedback, nbgrader's gradebook (`gradebook`), and what every run writes again from them: grades.csv, the
LMS exports, the grade at the top of each feedback page and the class report; and `merge` of sharded runs.

With each result it keeps what people read later: the answer cells (`answers/<lab>/<slug>.json`, for a TA and the
copying report), the fingerprints of the model files' weights (`weights/<lab>/<slug>/`) and the feedback notebook
(`feedback/<slug>/<lab>.ipynb`, written again when a TA's grades change it).

The outputs are made from the kept results, the TA's grades (`manual/<lab>.json`,
`cnnlab.grading.results.manual`: nothing here writes them), the labs' contexts (`context`: layout, roster,
rules) and the overrides file, read anew each time: a rerun, `export` or `merge` never reverts an override or a
TA's grade.
"""

import csv
import json
import shutil
import tempfile
from pathlib import Path

from cnnlab.grading.errors import GradingError
from cnnlab.grading.results import feedback_page, gradebook, overrides, refresh, standing, tests_table
from cnnlab.grading.results import manual as manual_store
from cnnlab.grading.results.context import LabContext
from cnnlab.grading.results.final import final_grade, shown
from cnnlab.grading.results.lms import canvas, moodle
from cnnlab.grading.results.result import CSV_FIELDS, GradingResult


def result_path(out, lab, slug):
    return Path(out) / "results" / lab / f"{slug}.json"


def feedback_path(out, result):
    return Path(out) / "feedback" / result.slug / f"{result.lab}.html"


def write_result(path, result):
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
    feedback = feedback_path(out, result)
    feedback.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(feedback_html, feedback)
    keep(out, result.lab, result.slug, Path(feedback_html).parent)
    gradebook.write(Path(out) / "gradebook.db", [result])
    write_result(result_path(out, result.lab, result.slug), result)


def load_results(out):
    return [read_result(path) for path in sorted((Path(out) / "results").glob("*/*.json"))]


def manual_grades(out, results):
    """{lab: {student: {grade_id: ManualGrade}}} of the labs of `results`: the TA's grades kept in `out`."""
    return {lab: manual_store.manual_grades(out, lab) for lab in sorted({r.lab for r in results})}


def _csv_row(result, final, grades):
    """grades.csv's row: the final score; the reason says what the TA's part adds and what changed the score."""
    row = standing.csv_row(result, grades)
    if final.final is not None:
        row["score"] = shown(final.final)
    changes = []
    if final.penalty:
        changes.append(f"late penalty -{shown(final.penalty)} ({final.late.get('sentence', '')})")
    changes += [f"{o['test']} set to {shown(o['after'])} by {o['who']}: {o['reason']}" for o in final.overrides]
    if changes:
        row["reason"] = f"{row['reason']} Final score {shown(final.final)}: {'; '.join(changes)}."
    return row


def write_outputs(out, results, overrides_file=None):
    """grades.csv, the exports, nbgrader's final grades, the feedback (the TA's grades in it, and the grade at the
    top of each page) and the class report, from every result kept in `out`, the TA's grades and the overrides in
    `overrides_file` (none when None). Returns the report's notes per lab."""
    out = Path(out)
    kept = overrides.read(overrides_file) if overrides_file else []
    manual = manual_grades(out, results)

    def graded(result):
        return manual.get(result.lab, {}).get(result.student, {})

    finals = {
        (r.lab, r.student): final_grade(r, r.late or {}, overrides.applying(kept, r.student, r.lab), graded(r))
        for r in results
    }
    with open(out / "grades.csv.tmp", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, CSV_FIELDS)
        writer.writeheader()
        for result in sorted(results, key=lambda r: (r.student, r.lab)):
            writer.writerow(_csv_row(result, finals[(result.lab, result.student)], graded(result)))
    (out / "grades.csv.tmp").replace(out / "grades.csv")
    refresh.refresh_feedback(out, [r.to_json() for r in results], manual)  # before the grade at the top of each page
    notes = {}
    for lab in sorted({r.lab for r in results}):
        lab_results = [r for r in results if r.lab == lab]
        lab_finals = {r.student: finals[(lab, r.student)] for r in lab_results}
        notes[lab] = _write_lab(out, lab, lab_results, lab_finals, kept)
    from cnnlab.grading.results.report import write_report

    write_report(
        out / "report", [r.to_json() for r in results], _sections(out, results, finals, notes), out=out, manual=manual
    )
    return notes


def _write_lab(out, lab, results, finals, kept):
    """One lab's exports, gradebook and feedback headers; returns the notes for the report."""
    context = LabContext.load(out, lab)
    for result in results:
        feedback_page.write_header(feedback_path(out, result), finals[result.student], result.submission or {})
    notes = list(context.warnings)
    if (out / "gradebook.db").exists():
        notes += gradebook.write_final(out / "gradebook.db", lab, finals, context.rules.get("due"))
    exports = out / "exports" / lab
    tests_table.write(exports / f"{lab}-tests.csv", finals, results)
    kinds = {context.layout, (context.roster or {}).get("kind")}
    page = lambda result: feedback_path(out, result)  # noqa: E731
    if "canvas" in kinds:
        notes += canvas.write_gradebook(exports / "canvas-gradebook.csv", finals, results, context)
        notes += canvas.write_feedback(exports / "canvas-feedback.zip", results, page)
    if "moodle" in kinds:
        notes += moodle.write_worksheet(exports / "moodle-grading-worksheet.csv", finals, results, context)
        notes += moodle.write_feedback(exports / "moodle-feedback.zip", results, page)
    students = {r.student for r in results}
    for override in kept:
        if override.lab == lab and override.student not in students:
            notes.append(
                f"overrides line {override.line}: {override.student} has no result for {lab} (not in this "
                f"download, its roster or this shard): the override applies nowhere"
            )
    return notes


def _sections(out, results, finals, notes):
    """The class report's term sections of each lab: grades with missing students, lateness, overrides, notes."""
    sections = {}
    for lab, lab_notes in notes.items():
        rows = [finals[(lab, r.student)] for r in results if r.lab == lab]
        scored = [f.final for f in rows if f.final is not None]
        lines = [
            f"Final grades (late penalties and overrides applied): {len(scored)} of {len(rows)} students have one; "
            f"mean {sum(scored) / len(scored) if scored else 0:.2f} counting missing students as 0, "
            + (f"{len([f for f in rows if f.status == 'missing'])} of them missing" if rows else "none")
            + f". Exports: {out / 'exports' / lab}.",
            "",
        ]
        late = [f for f in rows if f.penalty or (f.late.get("units") and f.final is not None)]
        if late:
            lines += ["| student | lateness | penalty |", "|---|---|---|"]
            lines += [f"| {f.student} | {f.late.get('sentence', '')} | -{shown(f.penalty)} |" for f in late]
            lines += [""]
        changed = [(f, o) for f in rows for o in f.overrides]
        if changed:
            lines += ["| student | override | from | to | reason | who |", "|---|---|---|---|---|---|"]
            lines += [
                f"| {f.student} | {o['test']} {o['points']} | {shown(o['before']) or '-'} | {shown(o['after'])} | "
                f"{o['reason']} | {o['who']} |"
                for f, o in changed
            ]
            lines += [""]
        if lab_notes:
            lines += ["Intake and exports:", ""] + [f"- {note}" for note in lab_notes] + [""]
        sections[lab] = lines
    return sections


def merge(out, shards, overrides_file=None):
    """Combine the outputs of `grade --shard i/N` runs into `out`: results, feedback, answers and weights, contexts,
    the TA's grades, gradebook, outputs."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    merged, contexts = {}, {}
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
            context = LabContext.load(shard_dir, result.lab)
            contexts[result.lab] = contexts[result.lab].merged(context) if result.lab in contexts else context
    for (lab, _student), (result, shard_dir) in sorted(merged.items()):
        write_result(result_path(out, lab, result.slug), result)
        feedback = feedback_path(shard_dir, result)
        if feedback.exists():
            feedback_path(out, result).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(feedback, feedback_path(out, result))
        staged = {name: path for name, path in kept_paths(shard_dir, lab, result.slug).items() if path.exists()}
        if staged:  # the shard's answers, weights and feedback notebook, as `keep` takes them from a worker
            with tempfile.TemporaryDirectory() as work:
                for name, path in staged.items():
                    (shutil.copytree if path.is_dir() else shutil.copy)(path, Path(work) / name)
                keep(out, lab, result.slug, work)
    for context in contexts.values():
        context.save(out)
    for shard_dir in shards:  # the gradebook needs the assignments: take them from a shard's course
        shard_db = Path(shard_dir) / "gradebook.db"
        if shard_db.exists() and not (out / "gradebook.db").exists():
            shutil.copy(shard_db, out / "gradebook.db")
    for warning in manual_store.merge(out, shards):
        print(f"warning: {warning}")
    results = [r for r, _ in merged.values()]
    if (out / "gradebook.db").exists():
        gradebook.write(out / "gradebook.db", results)
    write_outputs(out, load_results(out), overrides_file)
    return results
