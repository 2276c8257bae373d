"""Grade a class: course set-up, one sandboxed worker per submission, gradebook, grades.csv, feedback, report.

Layout of `--out` (everything the grader keeps; re-running reuses whatever is still valid):

    grades.csv                      one row per student and lab (the final score)
    exports/<lab>/                  what the LMS imports: its gradebook file, its feedback zip; a per-test CSV
    feedback/<student>/<lab>.html   what each student reads, their grade at the top
    report/<lab>.png, report.md     score histogram, per-task pass rates, grades, lateness, overrides, intake
    gradebook.db                    nbgrader's gradebook (SQLite): assignments, students, scores, penalties
    results/<lab>/<student>.json    each submission's full result (the batch's resume points)
    term/<lab>.json                 the lab's layout, roster and rules as this run read them
    .course/                        the nbgrader course: solutions/ (a link to the source), labs/ (release)

(`<student>` in a path is the student's slug: the id itself when it is ASCII.) A result file marks its
submission done, so it is written last, after the gradebook; every run first brings the gradebook in line
with the kept results. SIGTERM and SIGINT stop the workers and their kernels and remove the scratch folders.

The steps live in their own modules: `course` (the nbgrader course), `submissions` (intake), `job` (what a
worker is given), `pool` (the worker processes), `worker` (one submission), `store` (what is kept).
"""

import hashlib
import json
import tempfile
import time
import traceback
from pathlib import Path

import nbformat

from cnnlab.grading import secret
from cnnlab.grading.batch.jobs import make_job, make_warm_up
from cnnlab.grading.batch.options import log
from cnnlab.grading.batch.pool import Interrupted, run_pool
from cnnlab.grading.course import labconfig, releases, rubric
from cnnlab.grading.course import late as lateness
from cnnlab.grading.course import nbgrader as course
from cnnlab.grading.course import term as course_term
from cnnlab.grading.errors import GradingError
from cnnlab.grading.intake import archive
from cnnlab.grading.intake import discover as subs
from cnnlab.grading.intake import roster as rosters
from cnnlab.grading.jail import bwrap as jails
from cnnlab.grading.jail.files import remove_tree
from cnnlab.grading.probes import reference
from cnnlab.grading.results import gradebook, store
from cnnlab.grading.results.context import LabContext
from cnnlab.grading.results.feedback_page import write_missing_feedback
from cnnlab.grading.results.result import GradingResult
from cnnlab.grading.results.status import Status
from cnnlab.grading.worker.job import reference_check_path


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
    rubric.check(options.lab, config.manual, release_nb)
    try:  # (the index only: the solution is checked while the workers start, `check_reference`)
        reference_path = reference.write_index(
            options.source / options.lab / config.notebook, options.out / ".work" / options.lab, options.quick
        )
    except ValueError as error:
        raise GradingError(f"{options.lab}: the reference for the probed tests could not be made: {error}") from None
    root = Path(options.submissions).resolve()
    if not root.exists():
        raise GradingError(f"--submissions {options.submissions}: no such file or folder")
    if root.is_file():
        if root.suffix.lower() != ".zip":
            raise GradingError(f"--submissions {options.submissions}: expected a folder or a .zip archive")
        root = archive.unpack(root, options.out / ".imported")
    term = course_term.load(options.course_file)
    rules = term.rules(options.lab)
    roster = rosters.read(options.roster, term.zone()) if options.roster else None
    found, warnings = subs.discover(
        root,
        options.lab,
        config.notebook,
        [m.name for m in config.models],
        options.id_pattern,
        lms=options.lms,
        roster=roster,
        time_zone=term.zone(),
        nested_dir=options.out / ".imported" / "nested",
    )
    layout = subs.detect(root, options.lms)[0]
    for warning in warnings:
        log(options, f"warning: {warning}")
    LabContext(options.lab, layout, roster.to_json() if roster else None, rules.to_json(), warnings).save(options.out)
    index, count = options.shard
    mine = subs.shard(found, index, count)
    if options.student is not None:
        mine = [s for s in found if s.student == options.student]
        if not mine:
            known = ", ".join(s.student for s in found[:10]) + (" ..." if len(found) > 10 else "")
            raise GradingError(
                f"--student {options.student}: no such student in the {layout} download"
                f"{' or the roster' if roster else ''} of {options.lab}; known: {known or 'none'}"
            )
    try:
        jail = jails.probe(allow_unsafe=options.unsafe_no_sandbox)
    except jails.JailError as error:
        raise GradingError(str(error)) from None
    described = jail.description
    (options.out / ".work" / options.lab / "jail").mkdir(parents=True, exist_ok=True)  # the model checks' folders
    if not mine:  # a slice without a student is a grader output all the same, which `merge` takes
        (options.out / "results" / options.lab).mkdir(parents=True, exist_ok=True)
    private_root = Path(tempfile.mkdtemp(prefix="cnnlab-grade-")).resolve()  # each worker's kernel folders in it
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
        "releases": releases.for_job(options.releases, options.lab),
    }
    _check_release(options, released_dir / config.notebook, setup["releases"])
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
        "releases": [
            (r["version"], hashlib.sha256(Path(r["path"]).read_bytes()).hexdigest()) for r in setup["releases"]
        ],
    }
    synced = gradebook.sync(options.out / "gradebook.db", options.lab, store.load_results(options.out))
    if synced:
        log(options, f"gradebook brought in line with the kept results of {len(synced)} students: {', '.join(synced)}")
    todo, results = [], []
    for submission in mine:
        digest = _hash_inputs(submission, extra)
        kept = store.result_path(options.out, options.lab, submission.slug)
        if kept.exists() and not options.regrade and options.student is None:
            previous = store.read_result(kept)
            if (
                previous.input_hash == digest
                and not previous.status.regrade
                and not previous.extra.get("grader_failure")
            ):  # (older runs)
                if _describe(previous, submission, rules):  # who and when, lateness: the download's and rules' now
                    store.write_result(kept, previous)
                results.append(previous)
                continue
        todo.append((submission, digest))
    if len(results):
        log(options, f"{len(results)} already graded with the same files (kept); {len(todo)} to grade")

    def done_one(item, result, done):
        submission, digest = item
        result.input_hash = digest
        _describe(result, submission, rules)
        store.record(options.out, result, options.out / ".work" / options.lab / submission.slug / "feedback.html")
        results.append(result)
        log(
            options,
            f"[{done}/{len(todo)}] {submission.student}: {result.status} {result.score:g}/"
            f"{result.max_score:g} ({result.timings.get('total', 0):.1f} s) {result.reason}",
        )

    started = time.monotonic()
    lost = []
    warm_up = make_warm_up(options, setup)
    try:
        lost = run_pool(
            todo,
            lambda item, worker: grade_one(item[0], options, setup, worker),
            done_one,
            options.workers,
            options.out / ".work",
            private_root,
            failed=lambda item, error: grader_failure(item[0], options, setup, error),
            warm_up=warm_up,
            before=lambda worker: check_reference(options, setup, worker, warm_up),
        )
    finally:
        # every kernel's folders, and the model checks' (test images, the folders of servers whose worker was
        # killed): removed without following a link, however deep a kernel made them
        remove_tree(private_root)
        remove_tree(options.out / ".work" / options.lab / "jail")
        store.write_outputs(
            options.out, store.load_results(options.out), overrides_file(options, term)
        )  # also when stopped
    elapsed = time.monotonic() - started
    if todo:
        log(
            options,
            f"graded {len(todo)} submissions in {elapsed:.1f} s ({60 * len(todo) / elapsed:.1f} per minute); "
            f"{options.out / 'grades.csv'}",
        )
    if lost:
        raise GradingError(
            f"the results of {len(lost)} submissions could not be kept in {options.out} "
            f"({'; '.join(f'{item[0].student}: {error}' for item, error in lost)[:1000]}); grades.csv holds every "
            f"other student's; run the same command again to grade those"
        )
    return results


def overrides_file(options, term):
    """The overrides file: --overrides, else course.toml's [grading] overrides, else none."""
    return options.overrides if options.overrides is not None else term.overrides


def _describe(result, submission, rules):
    """Who handed `result` in and when, and its lateness under `rules`, as they are now; True when they changed."""
    identity = submission.identity()
    late = lateness.assess(
        rules, submission.student, identity["submitted_at"], identity["time_source"], identity["lms_late"]
    )
    before = (result.submission, result.late)
    result.submission, result.late = identity, late.to_json()
    return before != (result.submission, result.late)


def _check_release(options, released, kept):
    """Warn when the lab's source changed since its last release was kept (`make labs` not run since)."""
    if not kept:
        log(
            options,
            f"warning: no release of {options.lab} is kept in {options.releases}: a notebook of an older "
            f"release cannot be brought to the current one (`make labs` keeps each release)",
        )
        return
    current = nbformat.read(kept[-1]["path"], as_version=4)
    mine = {c.get("id"): c.source for c in nbformat.read(released, as_version=4).cells}
    changed = [
        key
        for key, source in mine.items()
        if key in {c.get("id") for c in current.cells}
        and source != next(c.source for c in current.cells if c.get("id") == key)
    ]
    if changed:
        log(
            options,
            f"warning: solutions/{options.lab} changed since release {kept[-1]['version']} "
            f"({len(changed)} cells): run `make labs` to release it and keep the new version",
        )


def export(options):
    """Write the outputs again from what `--out` keeps (no grading): the lateness under the course's rules now and
    the overrides file now. Returns the report's notes per lab."""
    options.out = Path(options.out).resolve()
    if not (options.out / "results").is_dir():
        raise GradingError(f"--out {options.out}: no results/ folder; grade first (`grade --out {options.out}`)")
    term = course_term.load(options.course_file)
    results = store.load_results(options.out)
    labs = sorted({r.lab for r in results})
    for lab in labs if options.lab is None else [options.lab]:
        rules = term.rules(lab)
        context = LabContext.load(options.out, lab)
        context.rules = rules.to_json()
        context.save(options.out)
        for result in results:
            if result.lab != lab:
                continue
            who = result.submission or {}
            late = lateness.assess(
                rules, result.student, who.get("submitted_at"), who.get("time_source", ""), who.get("lms_late")
            )
            if result.late != late.to_json():
                result.late = late.to_json()
                store.write_result(store.result_path(options.out, lab, result.slug), result)
    return store.write_outputs(options.out, results, overrides_file(options, term))


def check_reference(options, setup, worker, warm_up):
    """The solution passes its own rules for the probed tests (once per solution version): checked in the reference
    kernel `worker` (the first) starts at its warm-up from `warm_up`, before the first submission."""
    if not setup["reference"] or reference.checked(setup["reference"]):
        return
    started = time.monotonic()
    out = reference_check_path(warm_up)
    out.unlink(missing_ok=True)
    outcome, code = worker.check(warm_up, out, options.timeout)
    if outcome == "stopped":
        raise Interrupted("stopped while the reference was checked")
    if outcome == "done":
        error = json.loads(out.read_text())["error"]
    elif outcome == "timeout":
        error = f"the solution took longer than {options.timeout:g} s (--timeout)"
    else:
        error = f"the worker stopped (exit {code}); see {worker.log_path}"
    if error:
        raise GradingError(f"{options.lab}: the reference for the probed tests could not be made: {error}")
    log(options, f"{options.lab}: the probed tests' reference checked ({time.monotonic() - started:.1f} s)")


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
    `GradingResult` (never raises, but `Interrupted` when the batch is stopped: a failure of the grader on this
    submission is its `grader_error` result)."""
    try:
        job = make_job(submission, options, setup)
        work = job.parent
        started = time.monotonic()
        outcome, returncode = worker.run(job, work / "result.json", options.timeout)
        elapsed = time.monotonic() - started
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
        _finish(result, submission, setup, work)
        return result
    except Interrupted:
        raise
    except Exception as error:
        return grader_failure(submission, options, setup, error)


def grader_failure(submission, options, setup, error):
    """The `grader_error` result of a submission on which the grader itself failed (`error`, outside the worker):
    no score, graded again on the next run."""
    result = GradingResult(
        submission.student, options.lab, setup["max_score"], setup["isolation"], slug=submission.slug
    )
    result.status = Status.GRADER_ERROR
    result.reason = (
        f"no score: the grader failed on this submission ({type(error).__name__}: {str(error)[:300]}); it is "
        f"graded again on the next run; an instructor should look at it."
    )
    result.traceback = "".join(traceback.format_exception(error))[-4000:]
    work = options.out / ".work" / options.lab / submission.slug
    try:
        work.mkdir(parents=True, exist_ok=True)
        _finish(result, submission, setup, work)
    except Exception:  # (the feedback page could not be written either: the result still is)
        pass
    return result


def _finish(result, submission, setup, work):
    result.files_sha256 = subs.file_digests(submission, setup["config"].notebook)
    if not setup["jail"].jailed:
        result.unsafe_no_sandbox = True
        result.reason = f"UNSAFE, graded without a sandbox (--unsafe-no-sandbox): {result.reason}"
    if not (work / "feedback.html").exists():
        write_missing_feedback(result.to_json(), work / "feedback.html")
