"""Run a restored notebook in its jailed kernel (step 3 of a worker), one cell at a time.

With nbgrader's Execute, in a scratch copy of the submission (`cnnlab.grading.jail`, `cnnlab.grading.sandbox`):
a probed test cell as released, then its probe (`ProbeRun`); a model-checked one as released; any other test
cell (the kernel-asserts path of labs not yet ported) whole, behind a canary cell.

A canary checks, in the kernel, that failing assertions still fail and errors still reach the grader (nothing
monkeypatched `numpy.testing`, IPython's exception handling or its input transformers); `cnnlab.grading.scoring`
reads its answer (`read_canary`).
"""

import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from cnnlab.grading.cells import nbg
from cnnlab.grading.job import KERNEL_NAME


def canary_source(nonce):
    return (
        "# cnnlab grader canary\n"
        "def __cnnlab_canary():\n"
        "    import numpy.testing\n"
        "    failed = 0\n"
        "    for check in (lambda: numpy.testing.assert_allclose(0.0, 1.0),\n"
        "                  lambda: numpy.testing.assert_array_equal([0], [1]),\n"
        "                  lambda: numpy.testing.assert_equal(0, 1)):\n"
        "        try:\n"
        "            check()\n"
        "        except AssertionError:\n"
        "            failed += 1\n"
        "    shell = get_ipython()\n"
        "    hooks = (len(shell.custom_exceptions), len(shell.input_transformers_cleanup),\n"
        "             len(shell.input_transformers_post), len(shell.ast_transformers))\n"
        f"    print('{nonce}', failed, *hooks)\n"
        "__cnnlab_canary()\n"
        f"raise AssertionError('{nonce}')"
    )


def read_canary(cell, nonce):
    """(failed-assertions, hooks) printed by a canary, or None if the canary did not report as written."""
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
    errors = [o for o in cell.outputs if o.output_type == "error"]
    match = re.fullmatch(rf"{nonce} (\d+) (\d+) (\d+) (\d+) (\d+)\n", text)
    if not match or len(errors) != 1 or errors[0].ename != "AssertionError" or errors[0].evalue != nonce:
        return None
    numbers = tuple(int(n) for n in match.groups())
    return numbers[0], numbers[1:]


class ProbeRun:
    """One run of one test's probe in the student's kernel: a folder made just before the probe cell runs, under
    a random name no earlier cell could know, read back as soon as the cell stops, then removed."""

    def __init__(self, test, owner=None):
        self.test, self.owner = test, owner  # owner: the jailed kernel's uid, when not the grader's
        self.directory = None
        self.collected = False
        self.records, self.error, self.unreadable = {}, None, ""

    def prepare(self, cell, scratch):
        from cnnlab.grading.reference import harness_source, new_probe_run

        self.directory = new_probe_run(scratch, self.test["probe"], self.owner, self.test.get("calls"))
        cell.source = harness_source(self.directory)

    def collect(self):
        from cnnlab.grading.judge import ProbeDataError, read_records

        try:
            self.records, self.error = read_records(self.directory)
        except ProbeDataError as error:
            self.unreadable = str(error)
        self.collected = True
        shutil.rmtree(self.directory, ignore_errors=True)

    def verdict(self, test, label):
        from cnnlab.grading.judge import Verdict, judge

        if self.unreadable:
            return Verdict(False, [f"the probe's data could not be read ({self.unreadable})"], 0)
        return judge(test["expect"], self.records, test["reference_records"], self.error, label)


@dataclass
class Plan:
    """The cells to run: the notebook's, with the grader's inserted ones (canaries and probes)."""

    nb: object
    inserted: dict = field(default_factory=dict)  # {id(inserted cell): ("canary", nonce) or ("probe", grade_id)}
    probe_runs: dict = field(default_factory=dict)  # {id(probe cell): ProbeRun}


@dataclass
class Execution:
    """What happened when the plan ran: the cells that ran to their end, and where it stopped."""

    executed: set
    died_at: int | None  # the kernel died in this cell; the later ones did not run
    timed_out: list  # cells interrupted at the cell time limit (the later ones ran)
    stuck_at: int | None  # this cell did not stop when interrupted; the later ones did not run


def plan(nb, visible_sources, probed, checked, kernel_uid):
    """A probed test cell runs as released (its visible tests, for the student's feedback), then a probe cell;
    a model-checked one as released; any other test cell (the kernel-asserts path) whole, with a canary before
    it, and a baseline canary before the first cell."""
    legacy = any(nbg(c).get("grade") and nbg(c).get("grade_id") not in set(probed) | checked for c in nb.cells)
    cells, inserted, probe_runs = [], {}, {}
    for cell in nb.cells:
        grade_id = nbg(cell).get("grade_id") if nbg(cell).get("grade") else None
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
            probe_runs[id(probe)] = ProbeRun(probed[grade_id], kernel_uid)
            cells.append(probe)
    nb.cells = cells
    return Plan(nb, inserted, probe_runs)


def kernel_uid(jail):
    """The uid the jailed kernel runs as outside its namespace, when it is not this process's (a root grader)."""
    from cnnlab.grading.jail import Jail

    jail = Jail.from_json(jail)
    return jail.uid if jail.mode == "bwrap-root" else None


def make_scratch(job):
    """The kernel's working directory: a copy of the submission's files, nothing of the grader's."""
    scratch = Path(job.scratch)
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    for name, source in job.files.items():
        shutil.copy(source, scratch / name)
    mpl = Path(job.mpl_cache)
    if mpl.is_dir():
        shutil.copytree(mpl, scratch / ".mpl")
    return scratch


def execute(plan, scratch, cell_timeout, timings):
    """Run the plan's notebook cell by cell; returns its `Execution` and adds its times to `timings`.

    Each probe cell gets its probe's folder just before it runs and has its records read back (into the
    grader's memory) as soon as it stops, before any later cell runs."""
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    nb = plan.nb
    config = Config()
    config.KernelManager.transport = "ipc"  # Unix sockets: they reach a kernel in its own network namespace
    config.KernelManager.ip = os.path.join(os.environ["JUPYTER_RUNTIME_DIR"], "kernel")  # absolute: cwds differ
    client = Execute(config=config, kernel_name=KERNEL_NAME, timeout=cell_timeout,
                     kernel_manager_class=AsyncKernelManager, startup_timeout=60,
                     resources={"metadata": {"path": str(scratch)}})
    client.nb = nb
    client.shutdown_kernel = "immediate"  # nothing to save in a graded kernel: kill it, do not wait
    client.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
    executed, timed_out, died_at, stuck_at = set(), [], None, None
    start = time.monotonic()
    first_answer = next((i for i, c in enumerate(nb.cells) if nbg(c).get("solution")), len(nb.cells))
    imports = evaluation = 0.0
    with client.setup_kernel():
        timings["kernel_start"] = round(time.monotonic() - start, 3)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            began = time.monotonic()
            run = plan.probe_runs.get(id(cell))
            if run is not None:
                run.prepare(cell, scratch)
            try:
                client.execute_cell(cell, index, store_history=run is None)  # probes stay out of In/Out
            except DeadKernelError:
                died_at = index
                break
            except CellTimeoutError:  # the kernel did not stop when interrupted: it is lost
                stuck_at = index
                break
            finally:
                if run is not None:
                    run.collect()
            elapsed = time.monotonic() - began
            executed.add(index)
            if elapsed >= cell_timeout - 0.5:
                timed_out.append(index)
            if index < first_answer:
                imports += elapsed
            else:
                evaluation += elapsed
        stopping = time.monotonic()
    timings["kernel_stop"] = round(time.monotonic() - stopping, 3)
    timings["imports"] = round(imports, 3)
    timings["evaluation"] = round(evaluation, 3)
    return Execution(executed, died_at, timed_out, stuck_at)
