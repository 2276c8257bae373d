"""Grade one submission, outside the batch's process: `python -m cnnlab.grading.worker JOB.json`, or `--serve`.

The batch (`cnnlab.grading.batch.run`) keeps one worker process per `--workers` slot (`--serve`: job paths on
stdin), kills it at the wall-clock limit (a fresh one takes its place), and reads back `result.json`. Steps, with
nbgrader's preprocessors where nbgrader has one, each in its own module:

1-2. read the notebook and restore the instructors' cells (`cnnlab.grading.worker.restore`); each hidden part's first
   line prints a random marker (what a test printed before it is its visible part's, the only output the
   feedback shows);
3. run it in a fresh jailed kernel forked by the worker's kernel server, in a folder holding the submission's files
   (`cnnlab.grading.worker.execute`); the next kernel is started ahead while this one is judged. Each probe draws
   its inputs from a generator seeded for this test of this submission (`cnnlab.grading.secret`), and the worker's
   reference kernel (`cnnlab.grading.probes.reference_kernel`, the solution, trusted) draws the same inputs beside
   it, computes the expected values, and answers the stand-ins' calls;
4-5. score its test cells: probes judged here, kernel asserts behind canaries, the model checks (each model
   file in its own fresh child of the worker's jailed model server, beside the kernel; `cnnlab.grading.worker.score`);
6. write the feedback notebook and HTML with the released test cells (hidden tests never shown;
   `cnnlab.grading.worker.feedback`); keep the answer cells (`cnnlab.grading.answers`) and the fingerprints of
   the model files' weights (`cnnlab.grading.similarity.weights`) for a TA and the copying report.
"""

import functools
import json
import secrets
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from cnnlab.grading import answers, secret
from cnnlab.grading.cells import manually_graded, nbg
from cnnlab.grading.modelcheck import session as models
from cnnlab.grading.probes import reference, reference_kernel
from cnnlab.grading.results.feedback_page import write_missing_feedback
from cnnlab.grading.results.result import GradingResult
from cnnlab.grading.results.status import Status
from cnnlab.grading.similarity.weights import write_sketches
from cnnlab.grading.worker import diagnose, execute, read, restore, score
from cnnlab.grading.worker.feedback import mark_hidden_part, write_feedback
from cnnlab.grading.worker.job import Job, reference_check_path
from cnnlab.grading.worker.plan import plan_cells


class Worker:
    def __init__(self, job):
        self.job = job
        self.result = GradingResult(
            job.student, job.lab, job.max_score, job.isolation, slug=job.slug, notes=list(job.intake_notes)
        )
        self.t0, self.cpu0 = time.monotonic(), time.process_time()

    def write(self):
        self.result.timings["total"] = round(time.monotonic() - self.t0, 3)
        self.result.timings["worker_cpu"] = round(time.process_time() - self.cpu0, 3)  # (and its model checks')
        path = Path(self.job.result)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.result.to_json(), indent=1))
        tmp.replace(path)

    def grade(self, released, visible_sources):
        job, result, timings = self.job, self.result, self.result.timings
        nb = read.read_notebook(job.notebook)
        release = restore.bring_forward(nb, restore.load_versions(job.releases), result)  # an older release's
        restore.check_structure(nb, released, result, job.notebook_name)
        t = time.monotonic()
        nb = restore.sanitize(nb, job.lab, job.notebook_name, job.gradebook)
        marker = "hidden" + secrets.token_hex(8)
        for cell in nb.cells:  # (the plan then runs probed and model-checked test cells without their hidden part)
            if nbg(cell).get("grade") and cell.cell_type == "code" and not manually_graded(cell):
                cell.source = mark_hidden_part(cell.source, marker)
        from cnnlab.grading.course.labconfig import parse

        config = parse(job.lab, job.config)
        probed = reference.load(job.reference)
        checked = {spec.grade_id for spec in config.models}
        seeds = {grade_id: secret.probe_seed(job.probe_seed, grade_id) for grade_id in probed}
        solution = reference_kernel.for_job(job, probed) if probed else None
        spent = solution.seconds if solution else 0.0
        expected = {grade_id: solution.records(grade_id, seeds[grade_id]) for grade_id in probed}  # beside the kernel
        plan = plan_cells(nb, visible_sources, probed, checked, seeds, solution.answer if solution else None)
        timings["prepare"] = round(time.monotonic() - t, 3)
        kernels = execute.kernel_server(job)  # (both servers started from this thread: a jail dies with it)
        sandbox = models.model_sandbox(job) if config.models else None
        with ThreadPoolExecutor(max_workers=1) as beside:
            # The model checks read only the grader's copy of the model files (the kernel has its own copy):
            # the model server's children run beside the kernel, on the cores its single thread leaves idle.
            measured = beside.submit(models.measure_models, job, config, sandbox)
            try:
                execution = execute.execute(plan, job, kernels, timings)
            finally:
                execute.start_next(kernels)  # the next submission's kernel starts while this one is judged
            t = time.monotonic()
            expected = reference_kernel.expected_values(probed, expected)
            timings["reference_wait"] = round(time.monotonic() - t, 3)  # after the kernel was done
            timings["reference"] = round((solution.seconds if solution else 0.0) - spent, 3)
            t = time.monotonic()
            graded, canary_failed = score.score_cells(plan, execution, probed, checked, visible_sources, expected)
            restore.explain_failures(graded, release)
            timings["judge"] = round(time.monotonic() - t, 3)
            t = time.monotonic()
            runs, timings["model_checks"] = measured.result()
            timings["model_wait"] = round(time.monotonic() - t, 3)  # after the kernel was done
        models.score_models(runs, graded, result)
        result.cells = list(graded.values())
        result.score = sum(c["score"] for c in graded.values())
        diagnose.note_kernel_trouble(result, plan, execution, graded, canary_failed, job)
        nb.cells = [c for c in nb.cells if id(c) not in plan.inserted]
        result.reason = result.summary()
        work = Path(job.work_dir)  # what the batch keeps for a TA and the copying report (`results.store.record`)
        answers.write(nb, work / "answers.json")
        write_sketches(config, job.submission_dir, work / "weights")
        t = time.monotonic()
        # the student's notebook as graded, released test cells only, failures of hidden tests summarised
        write_feedback(nb, released, result.to_json(), job.feedback_html, job.autograded, marker)
        timings["feedback"] = round(time.monotonic() - t, 3)

    def run(self):
        job, result = self.job, self.result
        released = nbformat.read(job.released, as_version=4)
        visible_sources = {
            nbg(c)["grade_id"]: c.source for c in released.cells if nbg(c).get("grade") and not manually_graded(c)
        }
        try:
            if job.notebook is None:
                result.status, result.reason = Status(job.missing_status), job.missing_reason
            else:
                self.grade(released, visible_sources)
        except read.Rejected as error:
            result.status, result.score, result.cells = Status.ERROR, 0.0, []
            result.note(str(error))
        except Exception as error:  # a grader failure on one submission must not stop the batch
            result.status, result.score = Status.GRADER_ERROR, 0.0  # graded again on the next run
            result.note(
                f"the grader failed on this submission ({type(error).__name__}: {str(error)[:300]}); "
                f"no score is recorded, an instructor should look at it"
            )
            result.traceback = traceback.format_exc()[-4000:]
        if not result.reason:
            result.reason = result.summary()
        if not Path(job.feedback_html).exists():
            write_missing_feedback(result.to_json(), job.feedback_html)
        self.write()


def run_job(path):
    Worker(Job.from_json(json.loads(Path(path).read_text()))).run()


def warm_up(path):
    """Start the kernel server (its next kernel), the model server and the reference kernel (in its own thread) a
    job of the settings in `path` will use, before the first job: their imports and the solution's run overlap the
    batch's own set-up. What fails here is tried again, and reported, by the first job."""
    job = Job.from_json(json.loads(Path(path).read_text()))
    try:
        execute.start_next(execute.kernel_server(job))
        if job.config.get("models"):
            models.model_sandbox(job)
        if job.reference:
            reference_kernel.for_job(job, reference.load(job.reference)).warm()
    except Exception as error:
        print(f"warm-up: {type(error).__name__}: {error}", flush=True)


def check_reference(path):
    """Check the solution's rules (`reference.check`) in this worker's reference kernel of the settings in `path`
    (a warm-up's), the kernel that then serves its submissions; writes `reference_check_path(path)`: {"error":
    null, or what to fix}."""
    job = Job.from_json(json.loads(Path(path).read_text()))
    try:
        reference.check(job.reference, reference_kernel.for_job(job, reference.load(job.reference)))
        error = None
    except Exception as failure:  # the solution's rules or its cells: the batch stops and says which
        error = str(failure) if isinstance(failure, RuntimeError) else f"{type(failure).__name__}: {failure}"
    out = reference_check_path(path)
    part = out.with_suffix(".tmp")
    part.write_text(json.dumps({"error": error}))
    part.replace(out)


def serve():
    """Grade the jobs whose paths arrive on stdin, one a line, until stdin closes: imports are paid once. A line
    `warm PATH` starts the servers of the settings in PATH (`warm_up`); `check PATH` checks the reference
    (`check_reference`).

    The batch waits for each job's result.json and kills this process (and with it the kernel) at the limit.
    """
    for line in sys.stdin:
        if line.startswith("warm "):
            warm_up(line[5:].strip())
        elif line.startswith("check "):
            check_reference(line[6:].strip())
        elif line.strip():
            run_job(line.strip())
            print(f"done {line.strip()}", flush=True)
        _import_for_jobs()  # (after a warm-up: while the servers import)


@functools.cache
def _import_for_jobs():
    """What every job imports, once, before the first job."""
    import nbgrader.preprocessors  # noqa: F401
    from nbconvert import HTMLExporter  # noqa: F401

    import cnnlab.grading.modelcheck.checks  # noqa: F401


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv == ["--serve"]:
            serve()
        else:
            run_job(argv[0])
    finally:  # (they would end with this process; this also removes their folders)
        execute.close_kernel_servers()
        models.close_model_sandboxes()
        reference_kernel.close_all()
