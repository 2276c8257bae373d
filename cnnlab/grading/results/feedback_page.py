"""The grade at the top of each student's feedback page (`--out/feedback/<student>/<lab>.html`), written by every
run from the final grade (`cnnlab.grading.results.final`): the tests' automatic score, each override with its
reason, the lateness with the submission's time and its source, the penalty, the final score, and the instructors'
hand-graded comments (`FinalGrade.comments`, filled by the hand-grading step when it runs). The worker's page
below it (the notebook as graded) is left as it is; the block is replaced, never added twice.
"""

import html
import re
from pathlib import Path

from cnnlab.grading.results.final import shown

BEGIN, END = "<!-- cnnlab-grade -->", "<!-- /cnnlab-grade -->"
STYLE = (
    "border:2px solid #333;border-radius:6px;padding:10px 16px;margin:16px auto;max-width:900px;font:15px sans-serif"
)


def header_html(final, who):
    """The block, its text escaped (names, reasons and comments are not the grader's)."""
    e = html.escape
    name = who.get("name") or final.student
    rows = [("Tests (automatic)", f"{shown(final.raw)} / {final.max_score:g}" if final.raw is not None else "no score")]
    for override in final.overrides:
        what = "the total" if override["test"] == "total" else override["test"]
        before = shown(override["before"]) or "none"
        rows.append(
            (f"Changed by your instructors: {what}, {before} to {shown(override['after'])}", override["reason"])
        )
    late = final.late.get("sentence") if final.status != "missing" else None  # nothing handed in, nothing late
    if late:
        source = final.late.get("time_source") if final.late.get("submitted_at") else ""
        rows.append(("Lateness" + (f" (the time from {source})" if source else ""), late))
    if final.penalty:
        rows.append(("Late penalty", f"-{shown(final.penalty)}"))
    body = "".join(f"<tr><td style='padding:2px 12px 2px 0'>{e(k)}</td><td>{e(str(v))}</td></tr>" for k, v in rows)
    grade = f"{shown(final.final)} / {final.max_score:g}" if final.final is not None else "no grade yet"
    comments = "".join(f"<p>{e(str(c))}</p>" for c in final.comments)
    return (
        f"{BEGIN}<div style='{STYLE}'><h2 style='margin:4px 0'>{e(final.lab)}: {e(grade)}</h2>"
        f"<p style='margin:2px 0'>{e(name)} ({e(final.student)}), status {e(final.status)}</p>"
        f"<table>{body}</table>"
        + (f"<h3>Comments from your instructors</h3>{comments}" if comments else "")
        + f"</div>{END}"
    )


def write_header(page, final, who):
    """Put (or replace) the grade block at the top of the page at `page`; True when the file changed."""
    page = Path(page)
    if not page.exists():
        return False
    text = page.read_text(encoding="utf-8")
    block = header_html(final, who)
    if BEGIN in text and END in text:
        start, end = text.index(BEGIN), text.index(END) + len(END)
        updated = text[:start] + block + text[end:]
    else:
        body = re.search(r"<body[^>]*>", text)
        at = body.end() if body else 0
        updated = text[:at] + block + text[at:]
    if updated == text:
        return False
    page.write_text(updated, encoding="utf-8")
    return True
