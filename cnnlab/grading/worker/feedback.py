"""The feedback a student reads: the graded notebook as HTML, with the released test cells only.

Test cells show the released source (no hidden test), what their visible part printed, and `passed` or the
error's name and message, and the released line it stopped at; the rest of a test cell's traceback is dropped,
since IPython prints the lines around the failing one, which may be hidden. A failure inside the hidden part
says only that a hidden test failed, and which rule when the grader judged it.

What a student's cells produced is shown as text, never run by the reader's browser: outputs keep only plain
text and PNG/JPEG images (no HTML, JavaScript, SVG, Markdown or LaTeX), the student's Markdown and raw cells
are shown as plain text (the release's Markdown cells as written), and the page forbids every script
(Content-Security-Policy). What the student's own code printed is not filtered: a probed test hands the kernel
nothing secret (its inputs are drawn for this submission, its expected values stay with the grader), and a line
filter could not stop an encoded copy of what a kernel was given anyway (the threat model says what a lab written
for plain nbgrader, whose hidden asserts run in the kernel, gives away).

An answer a TA grades (`cells.manually_graded`) is shown as the student wrote it, followed by a note: that it waits
for a TA, or the TA's points and comment once given (`cnnlab.grading.results.refresh` writes the page again then).

The graded kernel has no datasets, by design (saved models are checked on the grader's own copy of the test
sets): a cell that loads one shows a plain note in place of its traceback, so do the later cells that stopped on a
name it would have defined, and a test cell scored by the model checks says so instead of its own error.
"""

import re
from pathlib import Path

import nbformat

from cnnlab.grading.cells import manually_graded, nbg
from cnnlab.grading.results.feedback_page import manual_note, summary_markdown, to_html

MAX_TEXT = 20_000
MAX_DATA = 2_000_000
SAFE_DATA = ("text/plain", "image/png", "image/jpeg")
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
NO_DATASET = (
    "[grader] This cell loads a dataset. The grader's kernel has no datasets, by design (your saved models are "
    "checked on the grader's own copy of the test set), so the cell stops here: nothing for you to fix.\n"
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _shorten(outputs):
    """At most MAX_TEXT characters of printed text and MAX_DATA of other outputs per cell."""
    kept, size, text = [], 0, 0
    for output in outputs:
        if output.output_type == "stream":
            if text >= MAX_TEXT:
                continue
            if text + len(output.text) > MAX_TEXT:
                output.text = output.text[: MAX_TEXT - text] + "\n... output cut by the grader\n"
            text += len(output.text)
        if output.output_type in ("display_data", "execute_result"):
            size += sum(len(str(v)) for v in output.get("data", {}).values())
            if size > MAX_DATA:
                kept.append(
                    nbformat.v4.new_output("stream", name="stdout", text="... large output left out by the grader\n")
                )
                break
        if output.output_type == "error" and len(output.get("traceback", [])) > 60:
            output.traceback = output.traceback[:10] + ["..."] + output.traceback[-40:]
        kept.append(output)
    return kept


def mark_hidden_part(source, marker):
    """The test cell `source` with its `### BEGIN HIDDEN TESTS` line replaced by one printing `marker` (same
    line count): what the cell prints before the marker is its visible part's."""
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == HIDDEN_BEGIN:
            lines[i] = f"{line[: len(line) - len(line.lstrip())]}print({marker!r}, flush=True)"
            break
    return "\n".join(lines)


def _safe_data(output):
    """Keep plain text and base64 PNG/JPEG of a display or result; note what was left out."""
    data = output.get("data", {})
    kept = {
        k: v
        for k, v in data.items()
        if k in SAFE_DATA and (k == "text/plain" or BASE64.fullmatch(v if isinstance(v, str) else "".join(v)))
    }
    if set(data) - set(kept) - {"text/plain"}:  # (its text/plain is a repr like <IPython.core.display.HTML object>)
        kept["text/plain"] = "[grader] an HTML, JavaScript, SVG or other rich output is not shown in the feedback"
    output.data = nbformat.from_dict(kept)
    output.metadata = nbformat.from_dict({})
    return output


def _visible_stdout(outputs, marker):
    """The stdout a test cell printed before `marker` (none at all if the marker never came: print was replaced)."""
    kept = []
    for output in outputs:
        if output.output_type != "stream" or output.name != "stdout":
            continue
        if marker is None or marker not in output.text:
            kept.append(output)
            continue
        head = output.text.split(marker)[0]
        if head:
            kept.append(nbformat.v4.new_output("stream", name="stdout", text=head))
        return kept
    if marker is not None:
        return [
            nbformat.v4.new_output(
                "stream",
                name="stdout",
                text="[grader] this test's printed output is not "
                "shown: the grader could not tell it from what its hidden part printed\n",
            )
        ]
    return kept


def _failing_line(error, visible_source):
    """The line of the test cell an error stopped at (IPython's `---->` line in the cell's own frame), when it is
    a line of the released test; else None, so that no hidden line is ever shown."""
    frames = [ANSI.sub("", frame) for frame in error.get("traceback", [])]
    cell_frame = next((f for f in frames if f.lstrip().startswith(("Cell In[", "Input In ["))), "")
    arrow = next((line for line in cell_frame.splitlines() if line.startswith("---->")), "")
    line = re.sub(r"^---->\s*\d*\s?", "", arrow).strip()
    return line if line and line in {v.strip() for v in visible_source.splitlines()} else None


def _error_text(error, visible_source):
    """`Name: message` of a test cell's error, then the released line it stopped at when there is one."""
    line = _failing_line(error, visible_source)
    return f"{error.ename}: {error.evalue}"[:2000] + (f"\nThe check that failed: {line}" if line else "")


def _as_text(cell, released_markdown):
    """A Markdown or raw cell as Markdown: the release's as written, the student's own as a block of plain text."""
    if cell.cell_type == "markdown" and cell.source in released_markdown:
        return nbformat.v4.new_markdown_cell(cell.source)
    fence = "~" * max(3, 1 + max((len(run) for run in re.findall("~+", cell.source)), default=0))
    return nbformat.v4.new_markdown_cell(f"{fence}text\n{cell.source}\n{fence}")


def feedback_notebook(nb, released, result, marker=None):
    """A copy of the graded notebook fit for the student's eyes; `marker` what `mark_hidden_part` printed."""
    visible = {nbg(c)["grade_id"]: c.source for c in released.cells if nbg(c).get("grade") and not manually_graded(c)}
    cells_by_id = {c["grade_id"]: c for c in result["cells"]}
    released_markdown = {c.source for c in released.cells if c.cell_type == "markdown"}
    out = nbformat.v4.new_notebook(metadata={"kernelspec": released.metadata.get("kernelspec", {})})
    out.cells.append(nbformat.v4.new_markdown_cell(summary_markdown(result)))
    no_dataset = False  # a cell stopped on a dataset the grader's kernel does not have
    for cell in nb.cells:
        cell = nbformat.from_dict(cell)
        if manually_graded(cell) and nbg(cell)["grade_id"] in cells_by_id:  # the TA's note follows the answer
            out.cells.append(_as_text(cell, released_markdown) if cell.cell_type != "code" else _shown(cell))
            note = nbformat.v4.new_markdown_cell(manual_note(cells_by_id[nbg(cell)["grade_id"]]))
            note.metadata["cnnlab"] = {"manual": nbg(cell)["grade_id"]}
            out.cells.append(note)
            continue
        if cell.cell_type != "code":
            out.cells.append(_as_text(cell, released_markdown))
            continue
        cell = _shown(cell)
        grade_id = nbg(cell).get("grade_id")
        if not nbg(cell).get("grade"):
            cell.outputs, stopped = _without_dataset_errors(cell.outputs, no_dataset)
            no_dataset = no_dataset or stopped
        if nbg(cell).get("grade") and grade_id in visible:
            has_hidden = cell.source.strip() != visible[grade_id].strip()
            cell.source = visible[grade_id]
            entry = cells_by_id.get(grade_id, {})
            outputs = _visible_stdout(cell.outputs, marker if has_hidden else None)
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if (
                entry.get("visible_failed") and errors
            ):  # what the student saw when running the cell, then the judge's rules
                rules = f"\nThe grader's checks: {entry['message']}." if entry.get("message") else ""
                note = _error_text(errors[0], visible[grade_id]) + rules + "\n"
            elif entry.get("hidden_failed") and entry.get(
                "message"
            ):  # the judge's rules: which values, never the inputs
                note = f"A hidden test failed: {entry['message']}.\n"
            elif entry.get("hidden_failed"):
                name = errors[0].ename if errors else "error"
                note = f"A hidden test failed ({name}): make your answer work for other inputs too.\n"
            elif errors and entry.get("path") == "model checks":
                note = (
                    f"{entry.get('state', 'not graded')}: scored by the checks of your saved model (the table at "
                    f"the top). This cell's own test needs the dataset, which the grader's kernel does not have.\n"
                )
            elif errors and entry.get("path") == "probe" and entry.get("state") == "passed":
                note = (
                    "passed: the grader's checks of this task passed, with the reference's answers standing in for "
                    "the other tasks it calls. The visible tests above stopped at "
                    + _error_text(errors[0], visible[grade_id])
                    + "\nThat may come from another task's function: its own test says.\n"
                )
            elif errors:
                note = _error_text(errors[0], visible[grade_id]) + "\n"
            else:
                note = f"{entry.get('state', 'not graded')}\n"
            outputs.append(
                nbformat.v4.new_output(
                    "stream",
                    name="stdout",
                    text=f"[grader] {entry.get('score', 0):g} / {entry.get('points', 0):g}: {note}",
                )
            )
            cell.outputs = outputs
        out.cells.append(cell)
    return out


def _shown(cell):
    """A student's code cell with its outputs as the feedback shows them."""
    cell.outputs = [_safe_data(o) if "data" in o else o for o in _shorten(cell.get("outputs", []))]
    cell.pop("attachments", None)
    return cell


def _without_dataset_errors(outputs, after_dataset):
    """(a non-test cell's outputs, True when it stopped on a missing dataset): that error, and a NameError in a
    later cell (a name the dataset cell would have defined), become a plain note."""
    kept, stopped = [], False
    for output in outputs:
        name = output.get("ename") if output.get("output_type") == "error" else None
        if name == "DatasetNotFound":
            kept.append(nbformat.v4.new_output("stream", name="stdout", text=NO_DATASET))
            stopped = True
        elif name == "NameError" and after_dataset:
            text = (
                f"[grader] {name}: {output.get('evalue', '')}: a name the dataset cell above defines; that cell "
                f"cannot run in the grader, so neither can this one: nothing for you to fix.\n"
            )
            kept.append(nbformat.v4.new_output("stream", name="stdout", text=text))
        else:
            kept.append(output)
    return kept, stopped


def write_feedback(nb, released, result, html_path, notebook_path, marker=None):
    from cnnlab.grading.results.standing import stamp

    feedback = feedback_notebook(nb, released, result, marker)
    feedback.metadata["cnnlab"] = {"manual_stamp": stamp(result, {})}  # written before any TA's grade
    Path(notebook_path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(feedback, notebook_path)
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    Path(html_path).write_text(to_html(feedback), encoding="utf-8")
