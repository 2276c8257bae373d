"""The feedback a student reads: the graded notebook as HTML, with the released test cells only.

Test cells show the released source (no hidden test), their printed output, and `passed` or the error's
name and message; tracebacks of test cells are dropped, since IPython prints the lines around the failing
one, which may be hidden. A failure inside the hidden part says only that a hidden test failed.
"""

import html
from pathlib import Path

import nbformat

MAX_TEXT = 20_000
MAX_DATA = 2_000_000


def _nbg(cell):
    return cell.metadata.get("nbgrader", {})


def _shorten(outputs):
    """At most MAX_TEXT characters of printed text and MAX_DATA of other outputs per cell."""
    kept, size, text = [], 0, 0
    for output in outputs:
        if output.output_type == "stream":
            if text >= MAX_TEXT:
                continue
            if text + len(output.text) > MAX_TEXT:
                output.text = output.text[:MAX_TEXT - text] + "\n... output cut by the grader\n"
            text += len(output.text)
        if output.output_type in ("display_data", "execute_result"):
            size += sum(len(str(v)) for v in output.get("data", {}).values())
            if size > MAX_DATA:
                kept.append(nbformat.v4.new_output("stream", name="stdout", text="... large output left out by the grader\n"))
                break
        if output.output_type == "error" and len(output.get("traceback", [])) > 60:
            output.traceback = output.traceback[:10] + ["..."] + output.traceback[-40:]
        kept.append(output)
    return kept


def summary_markdown(result):
    lines = [f"# Feedback: {result['lab']}, {result['student']}", "",
             f"**Score: {result['score']:g} / {result['max_score']:g}** (status: {result['status']})", "",
             html.escape(result["reason"]), "", "| test | points | score | result |", "|---|---|---|---|"]
    for cell in result["cells"]:
        state = "a hidden test failed" if cell.get("hidden_failed") else cell["state"]
        lines.append(f"| {cell['grade_id']} | {cell['points']:g} | {cell['score']:g} | {state} |")
    if result["models"]:
        lines += ["", "Checks of your saved models, run by the grader on the files you submitted:", "",
                  "| model | check | points | result |", "|---|---|---|---|"]
        for check in result["models"]:
            verdict = ("passed: " if check["passed"] else "failed: ") + html.escape(check["message"])
            lines.append(f"| {check['model']} | {check['check']} | {check['score']:g} / {check['points']:g} | {verdict} |")
    return "\n".join(lines)


def feedback_notebook(nb, released, result):
    """A copy of the graded notebook fit for the student's eyes."""
    visible = {_nbg(c)["grade_id"]: c.source for c in released.cells if _nbg(c).get("grade")}
    cells_by_id = {c["grade_id"]: c for c in result["cells"]}
    out = nbformat.v4.new_notebook(metadata={"kernelspec": released.metadata.get("kernelspec", {})})
    out.cells.append(nbformat.v4.new_markdown_cell(summary_markdown(result)))
    for cell in nb.cells:
        cell = nbformat.from_dict(cell)
        if cell.cell_type == "code":
            cell.outputs = _shorten(cell.get("outputs", []))
        grade_id = _nbg(cell).get("grade_id")
        if _nbg(cell).get("grade") and grade_id in visible:
            cell.source = visible[grade_id]
            entry = cells_by_id.get(grade_id, {})
            outputs = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"]
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if entry.get("hidden_failed"):
                note = f"A hidden test failed ({errors[0].ename if errors else 'error'}): make your answer work for other inputs too.\n"
            elif errors:
                note = f"{errors[0].ename}: {errors[0].evalue}"[:2000] + "\n"
            else:
                note = f"{entry.get('state', 'not graded')}\n"
            outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                  text=f"[grader] {entry.get('score', 0):g} / {entry.get('points', 0):g}: {note}"))
            cell.outputs = outputs
        out.cells.append(cell)
    return out


def write_feedback(nb, released, result, html_path, notebook_path):
    from nbconvert import HTMLExporter

    feedback = feedback_notebook(nb, released, result)
    Path(notebook_path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(feedback, notebook_path)
    body, _ = HTMLExporter(template_name="classic").from_notebook_node(feedback)
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    Path(html_path).write_text(body, encoding="utf-8")


def write_missing_feedback(result, html_path):
    """A short page when nothing could be run (missing or unreadable notebook)."""
    from nbconvert import HTMLExporter

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(summary_markdown(result))])
    body, _ = HTMLExporter(template_name="classic").from_notebook_node(notebook)
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    Path(html_path).write_text(body, encoding="utf-8")
