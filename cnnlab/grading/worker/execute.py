"""Run a submission's plan (`cnnlab.grading.worker.plan`) in a fresh jailed kernel (step 3 of a worker), one cell at
a time, with nbgrader's Execute (`kernel_messages.DefensiveExecute`: a kernel message that cannot become an
output is left out, with a note).

The kernel is the next one of the worker's kernel server (`cnnlab.grading.jail.kernels`: the lab's libraries
imported once per worker, a fresh process forked for each submission, in the same jail and limits), started
ahead while the previous submission was judged; its folder receives the submission's files, and nothing of any
other student's is left in it. Each probe cell gets its folder just before it runs and is read back as soon as it
stops (`cnnlab.grading.probes.runs`)."""

import json
import time
from dataclasses import dataclass

from cnnlab.grading.cells import nbg
from cnnlab.grading.jail.bwrap import Jail
from cnnlab.grading.jail.jupyter import ServerKernelManager
from cnnlab.grading.jail.kernels import KernelServer, lab_modules

_SERVERS = {}  # this worker's kernel server, by its settings


@dataclass
class Execution:
    """What happened when the plan ran: the cells that ran to their end, and where it stopped."""

    executed: set
    died_at: int | None  # the kernel died in this cell; the later ones did not run
    timed_out: list  # cells interrupted at the cell time limit (the later ones ran)
    stuck_at: int | None  # this cell did not stop when interrupted; the later ones did not run


def kernel_server(job):
    """This worker's `KernelServer` for `job`'s lab, jail and limits: one per worker process, kept across its jobs
    (a job of other settings replaces it). Call it from the worker's main thread: a jail dies with the thread that
    started it."""
    key = json.dumps([job.jail, job.limits, job.private_root, job.released, job.quick, job.mpl_cache])
    if key not in _SERVERS:
        close_kernel_servers()
        _SERVERS[key] = KernelServer(
            Jail.from_json(job.jail),
            job.limits,
            job.private_root,
            lab_modules(job.released),
            quick=job.quick,
            mpl_cache=job.mpl_cache,
        )
    return _SERVERS[key]


def close_kernel_servers():
    """End this worker's kernel servers and remove their folders."""
    while _SERVERS:
        _SERVERS.popitem()[1].close()


def start_next(server):
    """Start the server's next kernel ahead, while this submission is judged; one that cannot start now is
    started when it is needed (and its failure is that submission's)."""
    try:
        server.start_next()
    except Exception:
        server.stop()


def execute(plan, job, server, timings):
    """Run the plan's notebook cell by cell in the server's next kernel, with the submission's files in its folder;
    returns its `Execution` and adds its times to `timings`. The kernel is killed at the end.

    Each probe cell gets its probe's folder just before it runs and has its records read back (into the
    grader's memory) as soon as it stops, before any later cell runs."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from cnnlab.grading.worker.kernel_messages import DefensiveExecute

    nb = plan.nb
    manager = ServerKernelManager(server)
    client = DefensiveExecute(km=manager, timeout=job.cell_timeout, startup_timeout=60, resources={})
    client.nb = nb
    client.shutdown_kernel = "immediate"  # nothing to save in a graded kernel: kill it, do not wait
    executed, timed_out, died_at, stuck_at = set(), [], None, None
    start = time.monotonic()
    first_answer = next((i for i, c in enumerate(nb.cells) if nbg(c).get("solution")), len(nb.cells))
    imports = evaluation = probes = 0.0
    try:
        with client.setup_kernel(cleanup_kc=True):
            home = manager.kernel.home
            for name, source in job.files.items():
                home.copy_in(source, name)
            timings["kernel_start"] = round(time.monotonic() - start, 3)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                began = time.monotonic()
                run = plan.probe_runs.get(id(cell))
                if run is not None:
                    run.prepare(cell, home)
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
                if elapsed >= job.cell_timeout - 0.5:
                    timed_out.append(index)
                if run is not None:
                    probes += elapsed
                elif index < first_answer:
                    imports += elapsed
                else:
                    evaluation += elapsed
            stopping = time.monotonic()
    finally:
        if manager.kernel is not None:
            manager.kernel.close()  # (its clients are closed: no connection may outlive its descriptors)
    timings["kernel_stop"] = round(time.monotonic() - stopping, 3)
    if server.cpu is not None:
        timings["kernel_cpu"] = server.cpu  # (its own CPU seconds: a measure the other users' load leaves alone)
    timings["imports"] = round(imports, 3)
    timings["evaluation"] = round(evaluation, 3)
    timings["probes"] = round(probes, 3)  # (the probe cells, with reading back their records)
    return Execution(executed, died_at, timed_out, stuck_at)
