"""Score a submission's test cells after its kernel ran (steps 4 and 5 of a worker).

4. each probed test is judged in this process (`cnnlab.grading.judge`) against the batch's reference
   (`cnnlab.grading.reference`); a test cell scored by the model checks ignores the kernel; any other test cell
   (the kernel-asserts path of labs not yet ported) as nbgrader's `determine_grade` does, less its rule that
   any stderr output fails the cell, behind canary cells, and only cells that actually ran: after a kernel death
   the later cells score 0 (nbgrader issue #427). A canary that does not answer exactly as expected makes the
   submission `tampered`, and the tests its kernel judged score 0;
5. the lab's model checks run on the submitted `.keras` files, each in its own child of the worker's jailed model
   server (beside the kernel), judged here (`cnnlab.grading.checks`); their points replace their test cell's.
"""

import json
import re
import time
from pathlib import Path

from cnnlab.grading.cells import nbg
from cnnlab.grading.execute import read_canary

_REFERENCES = {}
_SANDBOXES = {}  # this worker's model sandboxes, by their settings


def load_reference(path):
    """{grade_id: {"probe", "expect", "reference_records"}} of the batch's reference, or {} (no probed test)."""
    if not path:
        return {}
    if path not in _REFERENCES:
        from cnnlab.grading.judge import read_records

        tests = json.loads(Path(path).read_text())["tests"]
        for test in tests.values():
            test["reference_records"], _ = read_records(test["records"])
        _REFERENCES[path] = tests
    return _REFERENCES[path]


def score_cells(plan, execution, probed, checked, visible_sources):
    """({grade_id: cell entry}, indices of the canaries that did not answer as their baseline did)."""
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
        entry = {"grade_id": grade_id, "points": points, "score": 0.0, "state": "not run", "hidden_failed": False,
                 "visible_failed": False}
        visible_error = index in executed and any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if grade_id in checked:
            entry["path"] = "model checks"  # scored by score_models from the saved models; the kernel is ignored
        elif grade_id in probed:
            entry["path"] = "probe"
            run = plan.probe_runs[id(nb.cells[index + 1])]
            if run.collected:
                verdict = run.verdict(probed[grade_id], grade_id)
                entry.update(score=points if verdict.passed else 0.0, state="passed" if verdict.passed else "failed",
                             hidden_failed=not verdict.passed, message="; ".join(verdict.failures)[:1000],
                             visible_failed=not verdict.passed and visible_error)
        else:
            entry["path"] = "kernel asserts"
            if index in executed:  # nbgrader's determine_grade, but what the cell printed to stderr does not count
                hidden = visible_error and _hidden_failure(cell, visible_sources)
                entry.update(score=0.0 if visible_error else points, state="failed" if visible_error else "passed",
                             hidden_failed=hidden, visible_failed=visible_error and not hidden)
        graded[grade_id] = entry
    return graded, canary_failed


def _hidden_failure(cell, visible_sources):
    """True when the error of a failed test cell comes from its hidden part (line past the visible tests)."""
    visible = len(visible_sources.get(nbg(cell)["grade_id"], "").splitlines())
    for output in cell.outputs:
        if output.output_type == "error":
            lines = re.findall(r"line (\d+)", "\n".join(output.get("traceback", [])))
            return not lines or any(int(n) > visible for n in lines[:1])
    return False


def model_sandbox(job):
    """This worker's `checks.ModelSandbox` for `job`'s jail and limits, its model server started: one per worker
    process, kept across its jobs (Keras is imported once per worker). Call it from the worker's main thread: a
    jail dies with the thread that started it."""
    from cnnlab.grading.checks import ModelSandbox
    from cnnlab.grading.jail import Jail

    key = json.dumps([job.jail, job.limits["memory_mb"], job.model_timeout, job.limits["processes"], job.model_work])
    if key not in _SANDBOXES:
        _SANDBOXES[key] = ModelSandbox(Jail.from_json(job.jail), memory_mb=job.limits["memory_mb"],
                                       timeout_s=job.model_timeout, processes=job.limits["processes"],
                                       work=job.model_work)
    sandbox = _SANDBOXES[key]
    sandbox.server.start()
    return sandbox


def close_model_sandboxes():
    """End this worker's model servers and remove their folders."""
    while _SANDBOXES:
        _SANDBOXES.popitem()[1].server.close()


def measure_models(job, config, sandbox):
    """Each model of `config` checked by `sandbox`'s model server, each in its own forked child, and judged here
    (`checks.run_model`): [(spec, ModelRun)], in the config's order, with the seconds it took in all."""
    from cnnlab.grading.checks import run_model

    started = time.monotonic()
    runs = [(spec, run_model(spec, job.submission_dir, job.data_dir, job.quick, sandbox)) for spec in config.models]
    return runs, round(time.monotonic() - started, 3)


def score_models(runs, graded, result):
    """The model checks are decisive: the points of each (spec, ModelRun) replace the score of its test cell in
    `graded`, their results go into `result`."""
    for spec, run in runs:
        results = run.results
        result.models += [r.to_json() for r in results]
        result.model_runs = (result.model_runs or []) + [run.to_json()]
        if spec.grade_id in graded:
            entry = graded[spec.grade_id]
            entry["score"] = float(sum(r.score for r in results))
            entry["state"] = "passed" if all(r.passed for r in results) else "failed"
            entry["hidden_failed"] = False
            entry["model"] = spec.name  # the summary names its failed checks after this test
        if run.outcome != "measured":
            result.note(run.reason, "timeout" if run.outcome == "timeout" else "error")


def note_kernel_trouble(result, plan, execution, graded, canary_failed, job):
    """Notes for what went wrong in the kernel (a death, memory, time, a refused attempt, a failed canary); a
    failed canary voids the tests the kernel judged."""
    nb, executed, inserted = plan.nb, execution.executed, plan.inserted
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and id(c) not in inserted]

    def number(index):
        """The student's number of the code cell at `index`; an inserted cell counts as the one before it."""
        return sum(1 for i in code_cells if i <= index) or 1

    if execution.died_at is not None:
        lost = [c["grade_id"] for c in graded.values() if c["state"] == "not run"]
        result.note(f"the kernel died while running cell {number(execution.died_at)}"
                    f" (os._exit, a crash, or running out of memory); the {len(lost)} test cells after "
                    f"it were not run and score 0" + (f" ({', '.join(lost)})" if lost else ""), "error")
    memory = [i for i in executed if id(nb.cells[i]) not in inserted and
              any(o.get("ename") == "MemoryError" for o in nb.cells[i].get("outputs", []))]
    if memory:
        result.note(f"cell {number(memory[0])} ran out of memory (the limit is "
                    f"{job.limits['memory_mb']} MB); the cells after it ran on", "error")
    if execution.stuck_at is not None:
        lost = [c["grade_id"] for c in graded.values() if c["state"] == "not run"]
        result.note(f"cell {number(execution.stuck_at)} ran longer than {job.cell_timeout:g} s and did "
                    f"not stop when interrupted; the {len(lost)} test cells after it were not run and score 0", "timeout")
    if execution.timed_out:
        result.note(f"cell {number(execution.timed_out[0])} ran longer than {job.cell_timeout:g} s "
                    f"and was interrupted (an endless loop?); the cells after it ran on", "timeout")
    refused = [(i, o) for i in sorted(executed) if id(nb.cells[i]) not in inserted
               for o in nb.cells[i].get("outputs", []) if o.get("output_type") == "error" and
               o.get("ename") == "PermissionError" and "refused" in str(o.get("evalue", ""))]
    if refused:
        index, output = refused[0]
        result.note(f"cell {number(index)} tried what the grader forbids ({output.evalue}); the attempt was refused",
                    "tampered")
    if canary_failed:
        result.note("the notebook changed how tests run (numpy.testing, IPython's error handling or input "
                    "transformers were replaced), so no test result from its kernel can be trusted: score 0 for "
                    "the tests its kernel judged", "tampered")
        for entry in graded.values():
            if entry["path"] == "kernel asserts":  # probed and model-checked tests never trusted the kernel
                entry["score"], entry["state"] = 0.0, "void"
        result.score = sum(c["score"] for c in graded.values())
