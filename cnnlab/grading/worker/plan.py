"""What a submission's kernel runs (step 3 of a worker, before `execute`): the notebook's cells, with the grader's
own inserted: a probe cell after each probed test cell (which runs as released), a canary before each test cell
judged by its asserts in the kernel."""

import secrets
from dataclasses import dataclass, field

import nbformat

from cnnlab.grading.cells import manually_graded, nbg
from cnnlab.grading.probes.runs import ProbeRun
from cnnlab.grading.worker.canary import canary_source


@dataclass
class Plan:
    """The cells to run: the notebook's, with the grader's inserted ones (canaries and probes)."""

    nb: object
    inserted: dict = field(default_factory=dict)  # {id(inserted cell): ("canary", nonce) or ("probe", grade_id)}
    probe_runs: dict = field(default_factory=dict)  # {id(probe cell): ProbeRun}


def plan_cells(nb, visible_sources, probed, checked, seeds, answer=None):
    """A probed test cell runs as released (its visible tests, for the student's feedback), then a probe cell;
    a model-checked one as released; any other test cell (the kernel-asserts path) whole, with a canary before
    it, and a baseline canary before the first cell. `seeds`: each probed test's seed for this submission;
    `answer`: the reference kernel's answer to a stand-in call."""
    legacy = any(
        nbg(c).get("grade") and not manually_graded(c) and nbg(c).get("grade_id") not in set(probed) | checked
        for c in nb.cells
    )  # (a cell a person grades is no test: it needs no canary)
    cells, inserted, probe_runs = [], {}, {}
    for cell in nb.cells:
        grade_id = nbg(cell).get("grade_id") if nbg(cell).get("grade") and not manually_graded(cell) else None
        if grade_id in probed or grade_id in checked:
            cell.source = visible_sources[grade_id]
        elif legacy and (grade_id or not cells):
            nonce = "canary" + secrets.token_hex(8)
            canary = nbformat.v4.new_code_cell(canary_source(nonce))
            inserted[id(canary)] = ("canary", nonce)
            cells.append(canary)
        cells.append(cell)
        if grade_id in probed:
            probe = nbformat.v4.new_code_cell("")
            inserted[id(probe)] = ("probe", grade_id)
            probe_runs[id(probe)] = ProbeRun(grade_id, probed[grade_id], seeds[grade_id], answer)
            cells.append(probe)
    nb.cells = cells
    return Plan(nb, inserted, probe_runs)
