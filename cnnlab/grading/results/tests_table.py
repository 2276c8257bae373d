"""The plain gradebook of a lab, `--out/exports/<lab>/<lab>-tests.csv`: one row per student, one column per test,
everything the final grade is made of (for a spreadsheet, a script, an LMS this grader has no format for).

Columns: `student` (the LMS id), `name`, `layout`, the LMS's ids (one column each), `status`, `submitted_at`,
`time_source`, `late`, each test's score (after its overrides), `automatic_score`, `late_penalty`,
`total_adjustment` (a `total` override), `final_score`, `max_score`, `overrides` (their reasons and who), `reason`.
"""

import csv
import io
from pathlib import Path

from cnnlab.grading.results.final import shown


def rows(finals, results):
    """The table's rows, header first."""
    by_student = {r.student: r for r in results}
    tests = list(dict.fromkeys(g for f in finals.values() for g in f.tests))
    id_columns = sorted({k for r in results for k in (r.submission or {}).get("ids", {})})
    header = (
        ["student", "name", "layout"]
        + id_columns
        + ["status", "submitted_at", "time_source", "late"]
        + tests
        + ["automatic_score", "late_penalty", "total_adjustment", "final_score", "max_score", "overrides", "reason"]
    )
    table = [header]
    for student in sorted(finals):
        final, result = finals[student], by_student[student]
        who = result.submission or {}
        table.append(
            [student, who.get("name", ""), who.get("layout", "")]
            + [who.get("ids", {}).get(k, "") for k in id_columns]
            + [final.status, who.get("submitted_at") or "", who.get("time_source", ""), final.late.get("sentence", "")]
            + [shown(final.tests[t]["score"]) if t in final.tests else "" for t in tests]
            + [
                shown(final.raw),
                shown(final.penalty) if final.penalty else "0",
                shown(final.total_adjustment) if final.total_adjustment else "0",
                shown(final.final),
                f"{final.max_score:g}",
                "; ".join(f"{o['test']} {o['points']}: {o['reason']} ({o['who']})" for o in final.overrides),
                result.reason,
            ]
        )
    return table


def write(path, finals, results):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows(finals, results))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(buffer.getvalue(), encoding="utf-8")
