"""What a batch keeps in `--out`: each result (`results/<lab>/<slug>.json`, the batch's resume points), the
students' feedback, nbgrader's gradebook (`gradebook`), and what every run writes again from them: grades.csv, the
LMS exports, the grade at the top of each feedback page and the class report; and `merge` of sharded runs.

The outputs are made from the kept results, the labs' contexts (`context`: layout, roster, rules) and the
overrides file, read anew each time: a rerun, `export` or `merge` never reverts an override.
"""

import csv
import json
import shutil
from pathlib import Path

from cnnlab.grading.errors import GradingError
from cnnlab.grading.results import feedback_page, gradebook, overrides, tests_table
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


def record(out, result, feedback_html):
    """Keep the result: feedback/, nbgrader's gradebook, then results/<lab>/<slug>.json (which marks it done)."""
    feedback = feedback_path(out, result)
    feedback.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(feedback_html, feedback)
    gradebook.write(Path(out) / "gradebook.db", [result])
    write_result(result_path(out, result.lab, result.slug), result)


def load_results(out):
    return [read_result(path) for path in sorted((Path(out) / "results").glob("*/*.json"))]


def _csv_row(result, final):
    row = result.csv_row()
    if final.final is not None:
        row["score"] = shown(final.final)
    changes = []
    if final.penalty:
        changes.append(f"late penalty -{shown(final.penalty)} ({final.late.get('sentence', '')})")
    changes += [f"{o['test']} set to {shown(o['after'])} by {o['who']}: {o['reason']}" for o in final.overrides]
    if changes:
        row["reason"] = f"{row['reason']} Final score {shown(final.final)}: {'; '.join(changes)}."
    return row


def write_outputs(out, results, overrides_file=None, comments=None):
    """grades.csv, the exports, nbgrader's final grades, the feedback pages' grade and the class report, from every
    result kept in `out` and the overrides in `overrides_file` (none when None). `comments` ((lab, student) ->
    [text]) is the hook for hand-graded comments: each student's page shows theirs under the grade. Returns the
    report's notes per lab."""
    out = Path(out)
    kept = overrides.read(overrides_file) if overrides_file else []
    finals = {
        (r.lab, r.student): final_grade(r, r.late or {}, overrides.applying(kept, r.student, r.lab)) for r in results
    }
    for key, texts in (comments or {}).items():
        if key in finals:
            finals[key].comments = list(texts)
    with open(out / "grades.csv.tmp", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, CSV_FIELDS)
        writer.writeheader()
        for result in sorted(results, key=lambda r: (r.student, r.lab)):
            writer.writerow(_csv_row(result, finals[(result.lab, result.student)]))
    (out / "grades.csv.tmp").replace(out / "grades.csv")
    notes = {}
    for lab in sorted({r.lab for r in results}):
        lab_results = [r for r in results if r.lab == lab]
        lab_finals = {r.student: finals[(lab, r.student)] for r in lab_results}
        notes[lab] = _write_lab(out, lab, lab_results, lab_finals, kept)
    from cnnlab.grading.results.report import write_report

    write_report(out / "report", [r.to_json() for r in results], _sections(out, results, finals, notes))
    return notes


def _write_lab(out, lab, results, finals, kept):
    """One lab's exports, gradebook and feedback headers; returns the notes for the report."""
    context = LabContext.load(out, lab)
    for result in results:
        feedback_page.write_header(feedback_path(out, result), finals[result.student], result.submission or {})
    if (out / "gradebook.db").exists():
        gradebook.write_final(out / "gradebook.db", lab, finals, context.rules.get("due"))
    exports = out / "exports" / lab
    tests_table.write(exports / f"{lab}-tests.csv", finals, results)
    notes = list(context.warnings)
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
    """Combine the outputs of `grade --shard i/N` runs into `out`: results, feedback, contexts, gradebook, outputs."""
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
    for context in contexts.values():
        context.save(out)
    for shard_dir in shards:  # the gradebook needs the assignments: take them from a shard's course
        shard_db = Path(shard_dir) / "gradebook.db"
        if shard_db.exists() and not (out / "gradebook.db").exists():
            shutil.copy(shard_db, out / "gradebook.db")
    results = [r for r, _ in merged.values()]
    if (out / "gradebook.db").exists():
        gradebook.write(out / "gradebook.db", results)
    write_outputs(out, load_results(out), overrides_file)
    return results
