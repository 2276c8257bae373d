"""What went wrong in a submission's kernel, as notes on its result (after scoring): a death, memory, time, an
attempt the jail refused, a probe folder the kernel moved, a failed canary (which voids the tests the kernel
judged)."""


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
        result.note(
            f"the kernel died while running cell {number(execution.died_at)}"
            f" (os._exit, a crash, or running out of memory); the {len(lost)} test cells after "
            f"it were not run and score 0" + (f" ({', '.join(lost)})" if lost else ""),
            "error",
        )
    memory = [
        i
        for i in executed
        if id(nb.cells[i]) not in inserted
        and any(str(o.get("ename")).endswith("MemoryError") for o in nb.cells[i].get("outputs", []))  # NumPy's too
    ]
    if memory:
        result.note(
            f"cell {number(memory[0])} ran out of memory (the limit is "
            f"{job.limits['memory_mb']} MB); the cells after it ran on",
            "error",
        )
    if execution.stuck_at is not None:
        lost = [c["grade_id"] for c in graded.values() if c["state"] == "not run"]
        result.note(
            f"cell {number(execution.stuck_at)} ran longer than {job.cell_timeout:g} s and did "
            f"not stop when interrupted; the {len(lost)} test cells after it were not run and score 0",
            "timeout",
        )
    if execution.timed_out:
        result.note(
            f"cell {number(execution.timed_out[0])} ran longer than {job.cell_timeout:g} s "
            f"and was interrupted (an endless loop?); the cells after it ran on",
            "timeout",
        )
    refused = [
        (i, o)
        for i in sorted(executed)
        if id(nb.cells[i]) not in inserted
        for o in nb.cells[i].get("outputs", [])
        if o.get("output_type") == "error"
        and o.get("ename") == "PermissionError"
        and "refused" in str(o.get("evalue", ""))
    ]
    if refused:
        index, output = refused[0]
        result.note(
            f"cell {number(index)} tried what the grader forbids ({output.evalue}); the attempt was refused", "tampered"
        )
    moved = [
        grade_id for key, (kind, grade_id) in inserted.items() if kind == "probe" and plan.probe_runs[key].tampered
    ]
    if moved:
        result.note(
            f"the notebook moved or replaced the grader's folder of a probe ({', '.join(moved)}); what it left "
            f"there was judged as the probe's data",
            "tampered",
        )
    if canary_failed:
        result.note(
            "the notebook changed how tests run (numpy.testing, IPython's error handling or input "
            "transformers were replaced), so no test result from its kernel can be trusted: score 0 for "
            "the tests its kernel judged",
            "tampered",
        )
        for entry in graded.values():
            if entry["path"] == "kernel asserts":  # probed and model-checked tests never trusted the kernel
                entry["score"], entry["state"] = 0.0, "void"
        result.score = sum(c["score"] for c in graded.values())
