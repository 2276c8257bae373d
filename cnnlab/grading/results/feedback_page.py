"""The student's feedback page (`--out/feedback/<student>/<lab>.html`) as HTML under a policy that lets no script
run (`to_html`), its summary table (`summary_markdown`), the note under an answer a TA grades (`manual_note`), the
short page of a submission that could not run (`write_missing_feedback`), and the grade at its top, written by every
run from the final grade (`cnnlab.grading.results.final`): the tests' automatic score, each override with its
reason, the lateness with the submission's time and its source, the penalty, the final score, and the instructors'
hand-graded comments (`FinalGrade.comments`, filled by the hand-grading step when it runs). The worker's page
below it (the notebook as graded) is left as it is; the block is replaced, never added twice.
"""

import html
import re
from pathlib import Path

import nbformat

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


CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
    "style-src 'unsafe-inline'; font-src data:\">"
)


MANUAL_STATES = {"manual": "waits for a TA", "graded by a TA": "graded by a TA"}


def manual_note(entry):
    """The Markdown shown under an answer a TA grades: the points and the TA's comment, or that it waits."""
    if entry.get("state") != "graded by a TA":
        return f"**[TA]** {entry.get('points', 0):g} points: this answer waits for a TA."
    text = f"**[TA] {entry['score']:g} / {entry['points']:g}**"
    if entry.get("stale"):
        text += " (given to an earlier version of this answer)"
    comment = "\n".join(f"> {html.escape(line)}" for line in entry.get("comment", "").splitlines())
    return text + (f"\n\n{comment}" if comment else "")


def summary_markdown(result):
    pending = sum(c["points"] for c in result["cells"] if c.get("path") == "manual" and c["state"] == "manual")
    waiting = f"; {pending:g} points wait for a TA" if pending else ""
    lines = [
        f"# Feedback: {result['lab']}, {result['student']}",
        "",
        f"**Score: {result['score']:g} / {result['max_score']:g}** (status: {result['status']}{waiting}; your grade, "
        f"with any late penalty or change by your instructors, is at the top of the page)",
        "",
        html.escape(result["reason"]),
        "",
        "| test | points | score | result |",
        "|---|---|---|---|",
    ]
    for cell in result["cells"]:
        if cell.get("path") == "manual":
            score = "-" if cell["state"] == "manual" else f"{cell['score']:g}"
            state = MANUAL_STATES.get(cell["state"], cell["state"]) + (
                " (an earlier answer)" if cell.get("stale") else ""
            )
            lines.append(f"| {cell['grade_id']} | {cell['points']:g} | {score} | {state} |")
            continue
        state = (
            "its visible part failed"
            if cell.get("visible_failed")
            else "a hidden test failed"
            if cell.get("hidden_failed")
            else cell["state"]
        )
        lines.append(f"| {cell['grade_id']} | {cell['points']:g} | {cell['score']:g} | {state} |")
    if result["models"]:
        lines += [
            "",
            "Checks of your saved models, run by the grader on the files you submitted:",
            "",
            "| model | check | points | result |",
            "|---|---|---|---|",
        ]
        for check in result["models"]:
            verdict = ("passed: " if check["passed"] else "failed: ") + html.escape(check["message"])
            lines.append(
                f"| {check['model']} | {check['check']} | {check['score']:g} / {check['points']:g} | {verdict} |"
            )
    return "\n".join(lines)


def to_html(notebook):
    """The page: nbconvert's classic template, with a policy that lets no script run.

    (nbconvert's own `sanitize_html` is not used: with bleach 6 it shows Markdown cells as HTML source.)"""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="classic").from_notebook_node(notebook)
    head = body.index("<head>") + len("<head>")
    return body[:head] + "\n" + CSP + body[head:]


def write_missing_feedback(result, html_path):
    """A short page when nothing could be run (missing or unreadable notebook)."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(summary_markdown(result))])
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    Path(html_path).write_text(to_html(notebook), encoding="utf-8")
