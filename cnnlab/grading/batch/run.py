"""Grade a class: course set-up, one sandboxed worker per submission, gradebook, grades.csv, feedback, report.

Layout of `--out` (everything the grader keeps; re-running reuses whatever is still valid):

    grades.csv                      one row per student and lab
    feedback/<student>/<lab>.html   what each student reads
    report/<lab>.png, report.md     score histogram and per-task pass rates
    gradebook.db                    nbgrader's gradebook (SQLite): assignments, students, scores
    results/<lab>/<student>.json    each submission's full result (the batch's resume points)
    .course/                        the nbgrader course: solutions/ (a link to the source), labs/ (release)

(`<student>` in a path is the student's slug: the id itself when it is ASCII.) A result file marks its
submission done, so it is written last, after the gradebook; every run first brings the gradebook in line
with the kept results. SIGTERM and SIGINT stop the workers and their kernels and remove the scratch folders.

The steps live in their own modules: `course` (the nbgrader course), `submissions` (intake), `job` (what a
worker is given), `pool` (the worker processes), `worker` (one submission), `store` (what is kept).
"""

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from cnnlab.grading import secret
from cnnlab.grading.batch.jobs import make_job
from cnnlab.grading.batch.options import log
from cnnlab.grading.batch.pool import Interrupted, run_pool
from cnnlab.grading.course import labconfig
from cnnlab.grading.course import nbgrader as course
from cnnlab.grading.errors import GradingError
from cnnlab.grading.intake import archive
from cnnlab.grading.intake import discover as subs
from cnnlab.grading.jail import bwrap as jails
from cnnlab.grading.probes import reference
from cnnlab.grading.results import gradebook, store
from cnnlab.grading.results.result import GradingResult
from cnnlab.grading.results.status import Status
from cnnlab.grading.worker.feedback import write_missing_feedback


def grade(options):
    """Grade every submission of one lab; returns the results of this run's slice (all kept in options.out)."""
    options.out = Path(options.out).resolve()
    options.out.mkdir(parents=True, exist_ok=True)
    config = labconfig.load(options.lab, options.config_dir)
    missing = labconfig.missing_data(config, options.data_dir)
    if missing:
        raise GradingError(
            f"{options.lab}: the model checks of autograder/labs/{options.lab}.json read the grader's "
            f"data, and {missing}. Pass --data DIR (default $CNNLAB_DATA_DIR), the folder holding "
            f"the course's datasets (shared/data)"
        )
    released_dir, snapshot, source_digest = course.prepare(options)
    released = released_dir / config.notebook
    if not released.exists():
        raise GradingError(
            f'{options.lab}: the release has no {config.notebook}; set "notebook" in '
            f"{options.config_dir / (options.lab + '.json')}"
        )
    release_nb = nbformat.read(released, as_version=4)
    graded_cells = {
        c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"]
        for c in release_nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    labconfig.check_points(config, graded_cells)
    started = time.monotonic()
    try:  # the solution passes its own rules: checked in a trusted kernel once per solution version
        reference_path = reference.compute(
            options.source / options.lab / config.notebook, options.out / ".work" / options.lab, options.quick
        )
    except (RuntimeError, ValueError) as error:
        raise GradingError(f"{options.lab}: the reference for the probed tests could not be made: {error}") from None
    if reference_path:
        log(options, f"{options.lab}: the probed tests' reference checked ({time.monotonic() - started:.1f} s)")
    root = Path(options.submissions).resolve()
    if not root.exists():
        raise GradingError(f"--submissions {options.submissions}: no such file or folder")
    if root.is_file():
        if root.suffix.lower() != ".zip":
            raise GradingError(f"--submissions {options.submissions}: expected a folder or a .zip archive")
        root = archive.unpack(root, options.out / ".imported")
    found, warnings = subs.discover(
        root, options.lab, config.notebook, [m.name for m in config.models], options.id_pattern
    )
    for warning in warnings:
        log(options, f"warning: {warning}")
    index, count = options.shard
    mine = subs.shard(found, index, count)
    try:
        jail = jails.probe(allow_unsafe=options.unsafe_no_sandbox)
    except jails.JailError as error:
        raise GradingError(str(error)) from None
    described = jail.description
    (options.out / ".work" / options.lab / "jail").mkdir(parents=True, exist_ok=True)  # the model checks' folders
    private_root = Path(tempfile.mkdtemp(prefix="cnnlab-grade-")).resolve()  # every kernel's folder, each its own
    setup = {
        "config": config,
        "released": released,
        "snapshot": snapshot,
        "max_score": float(sum(graded_cells.values())),
        "jail": jail,
        "isolation": described,
        "mpl": course.mpl_cache(options.out),
        "submissions_root": root,
        "private_root": private_root,
        "reference": str(reference_path) if reference_path else None,
        "secret": secret.load_or_create(options.out),  # the seeds of each submission's inputs, never in a jail
    }
    log(
        options,
        f"{options.lab}: {len(mine)} submissions{f' (shard {index}/{count} of {len(found)})' if count > 1 else ''}; "
        f"{options.workers} worker(s); kernel isolation: {described}",
    )
    extra = {
        "source": source_digest,
        "config": config.to_json(),
        "timeout": options.timeout,
        "quick": options.quick,
        "cell_timeout": options.cell_timeout,
        "memory_mb": options.memory_mb,
        "data": str(options.data_dir),
        "jail": jail.mode,
    }
    synced = gradebook.sync(options.out / "gradebook.db", options.lab, store.load_results(options.out))
    if synced:
        log(options, f"gradebook brought in line with the kept results of {len(synced)} students: {', '.join(synced)}")
    todo, results = [], []
    for submission in mine:
        digest = _hash_inputs(submission, extra)
        kept = store.result_path(options.out, options.lab, submission.slug)
        if kept.exists() and not options.regrade:
            previous = store.read_result(kept)
            if (
                previous.input_hash == digest
                and not previous.status.regrade
                and not previous.extra.get("grader_failure")
            ):  # (older runs)
                results.append(previous)
                continue
        todo.append((submission, digest))
    if len(results):
        log(options, f"{len(results)} already graded with the same files (kept); {len(todo)} to grade")

    def done_one(item, result, done):
        submission, digest = item
        result.input_hash = digest
        store.record(options.out, result, options.out / ".work" / options.lab / submission.slug / "feedback.html")
        results.append(result)
        log(
            options,
            f"[{done}/{len(todo)}] {submission.student}: {result.status} {result.score:g}/"
            f"{result.max_score:g} ({result.timings.get('total', 0):.1f} s) {result.reason}",
        )

    started = time.monotonic()
    try:
        run_pool(
            todo,
            lambda item, worker: grade_one(item[0], options, setup, worker),
            done_one,
            options.workers,
            options.out / ".work",
            private_root,
        )
    finally:
        shutil.rmtree(private_root, ignore_errors=True)
        # the model checks' folder: test images, and the folders of model servers whose worker was killed
        shutil.rmtree(options.out / ".work" / options.lab / "jail", ignore_errors=True)
    elapsed = time.monotonic() - started
    store.write_outputs(options.out, store.load_results(options.out))
    if todo:
        log(
            options,
            f"graded {len(todo)} submissions in {elapsed:.1f} s ({60 * len(todo) / elapsed:.1f} per minute); "
            f"{options.out / 'grades.csv'}",
        )
    return results


def _hash_inputs(submission, extra):
    h = hashlib.sha256(json.dumps(extra, sort_keys=True, default=str).encode())
    h.update(json.dumps([submission.status.value, submission.notes, submission.missing_reason]).encode())
    for path in ([submission.notebook] if submission.notebook else []) + [
        submission.files[k] for k in sorted(submission.files)
    ]:
        h.update(str(path.name).encode())
        h.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return h.hexdigest()


def grade_one(submission, options, setup, worker):
    """Grade one submission on `worker` (a `pool.WorkerProcess`) under the wall-clock limit; returns its
    `GradingResult` (never raises, but `Interrupted` when the batch is stopped)."""
    job, private = make_job(submission, options, setup)
    work = job.parent
    started = time.monotonic()
    outcome, returncode = worker.run(job, work / "result.json", options.timeout)
    elapsed = time.monotonic() - started
    shutil.rmtree(private, ignore_errors=True)
    if outcome == "stopped":
        raise Interrupted(submission.student)
    result_path = work / "result.json"
    if result_path.exists() and outcome != "timeout":
        result = store.read_result(result_path)
    else:
        result = GradingResult(
            submission.student, options.lab, setup["max_score"], setup["isolation"], slug=submission.slug
        )
        result.timings["total"] = round(elapsed, 3)
        if outcome == "timeout":
            result.status = Status.TIMEOUT
            result.reason = (
                f"0 of {setup['max_score']:g} points; grading took longer than {options.timeout:g} s "
                f"and was stopped (an endless loop, or a very slow notebook)."
            )
        else:
            result.status = Status.GRADER_ERROR
            result.reason = (
                f"no score: the grader's worker stopped (exit {returncode}) before writing a result; it "
                f"is graded again on the next run; an instructor should look at {worker.log_path}."
            )
    result.files_sha256 = subs.file_digests(submission, setup["config"].notebook)
    if not setup["jail"].jailed:
        result.unsafe_no_sandbox = True
        result.reason = f"UNSAFE, graded without a sandbox (--unsafe-no-sandbox): {result.reason}"
    if not (work / "feedback.html").exists():
        write_missing_feedback(result.to_json(), work / "feedback.html")
    return result
