"""Run a submission's plan (`cnnlab.grading.worker.plan`) in its jailed kernel (step 3 of a worker), one cell at a
time, with nbgrader's Execute, in a scratch copy of the submission (`cnnlab.grading.jail`): each probe cell gets its
folder just before it runs and is read back as soon as it stops (`cnnlab.grading.probes.runs`)."""

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from cnnlab.grading.cells import nbg
from cnnlab.grading.jail.policy import KERNEL_NAME


@dataclass
class Execution:
    """What happened when the plan ran: the cells that ran to their end, and where it stopped."""

    executed: set
    died_at: int | None  # the kernel died in this cell; the later ones did not run
    timed_out: list  # cells interrupted at the cell time limit (the later ones ran)
    stuck_at: int | None  # this cell did not stop when interrupted; the later ones did not run


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
    from traitlets.config import Config

    from cnnlab.grading.worker.kernel_messages import DefensiveExecute

    nb = plan.nb
    config = Config()
    config.KernelManager.transport = "ipc"  # Unix sockets: they reach a kernel in its own network namespace
    config.KernelManager.ip = os.path.join(os.environ["JUPYTER_RUNTIME_DIR"], "kernel")  # absolute: cwds differ
    client = DefensiveExecute(
        config=config,
        kernel_name=KERNEL_NAME,
        timeout=cell_timeout,
        kernel_manager_class=AsyncKernelManager,
        startup_timeout=60,
        resources={"metadata": {"path": str(scratch)}},
    )
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
