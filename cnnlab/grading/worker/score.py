"""Score a submission's test cells after its kernel ran (step 4 of a worker).

4. each probed test is judged in this process (`cnnlab.grading.probes.judge`) against the values the reference
   drew for the same seed (`cnnlab.grading.probes.reference_kernel`); a test cell scored by the model checks
   ignores the kernel; any other test cell (the kernel-asserts path of labs not yet ported) as nbgrader's
   `determine_grade` does, less its rule that any stderr output fails the cell, behind canary cells, and only
   cells that actually ran: after a kernel death the later cells score 0 (nbgrader issue #427). A canary that
   does not answer exactly as expected makes the submission `tampered`, and the tests its kernel judged score 0.

A cell a person grades (`cells.manually_graded`: a written answer, or code graded by reading) is neither run as a
test nor scored here: its entry says `state` "manual" (it waits for a TA), with the digest of the answer it holds, so
that a TA's grade (`cnnlab.grading.handgrading`) is kept for that answer and a changed one is told apart.

The lab's model checks (step 5, `cnnlab.grading.modelcheck.session`) then replace the score of their test cells.
"""

import re

from cnnlab.grading.cells import answer_digest, manually_graded, nbg
from cnnlab.grading.worker.canary import read_canary


def score_cells(plan, execution, probed, checked, visible_sources, expected):
    """({grade_id: cell entry}, indices of the canaries that did not answer as their baseline did); `expected`:
    each probed test's reference records for this submission's seed."""
    nb, executed = plan.nb, execution.executed
    baseline, canary_failed = None, []
    graded = {}
    for index, cell in enumerate(nb.cells):
        if id(cell) in plan.inserted:
            kind, nonce = plan.inserted[id(cell)]
            if kind != "canary" or index not in executed:
                continue
            report = read_canary(cell, nonce)
            if baseline is None and report is not None:
                baseline = report
            elif report is None or report != baseline or report[0] != 3:
                canary_failed.append(index)
            continue
        if not nbg(cell).get("grade") or not nbg(cell).get("grade_id"):
            continue  # DeduplicateIds leaves copies of a graded cell without their grade_id
        grade_id = nbg(cell)["grade_id"]
        points = float(nbg(cell)["points"])
        entry = {
            "grade_id": grade_id,
            "points": points,
            "score": 0.0,
            "state": "not run",
            "hidden_failed": False,
            "visible_failed": False,
        }
        if manually_graded(cell):  # a TA's, never the kernel's: no score here, and no total is blocked
            entry.update(path="manual", state="manual", answer_sha256=answer_digest(cell.source))
            graded[grade_id] = entry
            continue
        visible_error = index in executed and any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if grade_id in checked:
            entry["path"] = "model checks"  # scored by score_models from the saved models; the kernel is ignored
        elif grade_id in probed:
            entry["path"] = "probe"
            run = plan.probe_runs[id(nb.cells[index + 1])]
            if run.collected:
                verdict = run.verdict(expected[grade_id])
                entry.update(
                    score=points if verdict.passed else 0.0,
                    state="passed" if verdict.passed else "failed",
                    hidden_failed=not verdict.passed,
                    message="; ".join(verdict.failures)[:1000],
                    visible_failed=not verdict.passed and visible_error,
                )
        else:
            entry["path"] = "kernel asserts"
            if index in executed:  # nbgrader's determine_grade, but what the cell printed to stderr does not count
                hidden = visible_error and _hidden_failure(cell, visible_sources)
                entry.update(
                    score=0.0 if visible_error else points,
                    state="failed" if visible_error else "passed",
                    hidden_failed=hidden,
                    visible_failed=visible_error and not hidden,
                )
                if visible_error:  # for the class report's groups of failures only: the feedback never shows it
                    entry["error"] = _first_error(cell)
        graded[grade_id] = entry
    return graded, canary_failed


def _first_error(cell):
    """`Name: first line of the message` of the cell's first error output."""
    error = next(o for o in cell.outputs if o.get("output_type") == "error")
    lines = str(error.get("evalue", "")).strip().splitlines()
    return (f"{error.get('ename', 'Error')}: {lines[0]}" if lines else f"{error.get('ename', 'Error')}")[:300]


def _hidden_failure(cell, visible_sources):
    """True when the error of a failed test cell comes from its hidden part (line past the visible tests)."""
    visible = len(visible_sources.get(nbg(cell)["grade_id"], "").splitlines())
    for output in cell.outputs:
        if output.output_type == "error":
            lines = re.findall(r"line (\d+)", "\n".join(output.get("traceback", [])))
            return not lines or any(int(n) > visible for n in lines[:1])
    return False
