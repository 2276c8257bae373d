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
"""

import csv
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat

from cnnlab.grading import jail as jails, labconfig, reference, submissions as subs
from cnnlab.grading.errors import GradingError
from cnnlab.grading.options import ROOT, Options, log  # noqa: F401  (Options: as callers name it)
from cnnlab.grading.status import STATUSES, Status, new_result

KERNEL_ENV = {"PATH", "LANG", "LANGUAGE", "TZ", "KERAS_BACKEND", "CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED", "VIRTUAL_ENV"}
CSV_FIELDS = ("student", "lab", "score", "max_score", "status", "reason")


# -- the nbgrader course --

def course(options):
    """Set up `out/.course` and the gradebook; returns (released notebook path, gradebook snapshot path)."""
    out = options.out
    course_dir = out / ".course"
    course_dir.mkdir(parents=True, exist_ok=True)
    link = course_dir / "solutions"
    if link.is_symlink() and link.resolve() != options.source.resolve():
        link.unlink()
    if not link.exists():
        link.symlink_to(options.source.resolve(), target_is_directory=True)
    source_nb = options.source / options.lab
    if not source_nb.is_dir():
        known = sorted(p.name for p in options.source.iterdir() if p.is_dir())
        raise GradingError(f"no lab {options.lab!r} in {options.source}. Known: {', '.join(known)}")
    db = out / "gradebook.db"
    released = course_dir / "labs" / options.lab
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(source_nb.glob("*.ipynb")))).hexdigest()
    stamp = course_dir / f"{options.lab}.source-sha256"
    if not (stamp.exists() and stamp.read_text() == digest and released.is_dir()):
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        command = [sys.executable, "-m", "nbgrader", "generate_assignment", options.lab, "--force",
                   f"--GenerateAssignmentApp.config_file={ROOT / 'autograder' / 'nbgrader_config.py'}",
                   f"--CourseDirectory.root={course_dir}", f"--CourseDirectory.db_url=sqlite:///{db}",
                   "--log-level=WARN"]
        result = subprocess.run(command, cwd=course_dir, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            log_path = course_dir / f"{options.lab}.generate_assignment.log"
            log_path.write_text(result.stdout + result.stderr)
            last = next((line for line in reversed((result.stdout + result.stderr).splitlines()) if line.strip()), "")
            raise GradingError(f"nbgrader generate_assignment {options.lab} failed (exit {result.returncode}): "
                               f"{last.strip()[:300]}; its whole output is in {log_path}")
        stamp.write_text(digest)
    snapshot = out / ".work" / options.lab / "gradebook-source.db"
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    if not snapshot.exists() or snapshot.stat().st_mtime < stamp.stat().st_mtime:
        shutil.copy(db, snapshot)
    return released, snapshot, digest


def _mpl_cache(out):
    """A warm matplotlib cache copied into each scratch folder, so no kernel rebuilds the font list."""
    cache = out / ".work" / "mpl"
    if not (cache / ".complete").exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], capture_output=True,
                       env=dict(os.environ, MPLCONFIGDIR=str(cache)))
        (cache / ".complete").touch()
    return cache


# -- one submission --

class WorkerProcess:
    """One `python -m cnnlab.grading.worker --serve` process: it grades the jobs it is given, one at a time."""

    def __init__(self, log_path, cwd, stop):
        self.log_path, self.cwd, self.process, self.stop = Path(log_path), cwd, None, stop

    def start(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])))
        self.process = subprocess.Popen([sys.executable, "-m", "cnnlab.grading.worker", "--serve"],
                                        stdin=subprocess.PIPE, stdout=open(self.log_path, "ab"),
                                        stderr=subprocess.STDOUT, start_new_session=True, env=env, cwd=self.cwd)

    def run(self, job, result, timeout):
        """("done" | "timeout" | "died", exit code): waits for `result` to appear, at most `timeout` seconds."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        deadline = time.monotonic() + timeout
        try:
            self.process.stdin.write(f"{job}\n".encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            pass
        while True:
            if self.stop.is_set():
                self.kill()
                return "stopped", None
            if Path(result).exists():
                return "done", 0
            code = self.process.poll()
            if code is not None:
                return "died", code
            if time.monotonic() > deadline:
                self.kill()
                return "timeout", None
            time.sleep(0.05)

    def kill(self):
        """SIGKILL to the worker, its kernels and their process groups (jupyter starts a kernel in its own)."""
        process = self.process
        if process is not None:
            for pid in process_tree(process.pid):
                try:
                    group = os.getpgid(pid)
                    if group != os.getpgrp():
                        os.killpg(group, signal.SIGKILL)
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            process.wait()
            self.process = None

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
            except BaseException:  # a signal while waiting: leave nothing running
                self.kill()
                raise


def _close_all(workers):
    """Close every worker; if a signal interrupts that, kill them all (and their kernels) and re-raise."""
    try:
        for worker in workers:
            worker.close()
    except BaseException:
        for worker in workers:
            worker.kill()
        raise

def process_tree(pid):
    """`pid` and all its descendants (from /proc), parents first."""
    children = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat_file.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop(0))
        todo += children.get(tree[-1], [])
    return tree


class Interrupted(Exception):
    """SIGTERM or SIGINT stopped the batch; what was graded before is kept."""


def _hash_inputs(submission, extra):
    h = hashlib.sha256(json.dumps(extra, sort_keys=True, default=str).encode())
    h.update(json.dumps([submission.status.value, submission.notes, submission.missing_reason]).encode())
    for path in ([submission.notebook] if submission.notebook else []) + [submission.files[k] for k in sorted(submission.files)]:
        h.update(str(path.name).encode())
        h.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return h.hexdigest()


def _kernelspec(directory, jail, limits, private, scratch):
    """The kernelspec of a submission's kernel: the jail, `cnnlab.grading.sandbox`'s limits, then ipykernel."""
    spec = directory / "kernels" / "cnnlab-sandbox"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "cnnlab.grading.sandbox", "--limits", json.dumps(limits), "--",
            sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    argv = jails.command(jail, argv, writable=[private], cwd=scratch)
    # interrupts as a message: the kernel signals itself (a signal to bwrap would not reach it, in its own session)
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "cnnlab sandbox", "language": "python",
                                                  "interrupt_mode": "message"}))


def grade_one(submission, options, setup):
    """Run the worker for one submission under the wall-clock limit; returns its result dict (never raises)."""
    work = options.out / ".work" / options.lab / submission.slug
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    private = Path(tempfile.mkdtemp(prefix=f"{submission.slug}-", dir=setup["private_root"]))
    scratch, runtime, tmp = private / "scratch", private / "runtime", private / "tmp"
    for d in (runtime, tmp):
        d.mkdir()
    protected = [str(options.out.resolve()), str(options.source.resolve()), str(setup["submissions_root"]),
                 str(setup["private_root"])]
    if options.data_dir:
        protected.append(str(Path(options.data_dir).resolve()))
    # CPU seconds: a backstop behind the wall clock, which a kernel with several threads may use faster
    limits = {"memory_mb": options.memory_mb, "cpu_s": int(options.timeout * (os.cpu_count() or 1)) + 10, "file_mb": 1024,
              "processes": options.processes, "protected": protected, "writable": [str(private)]}
    _kernelspec(private / "jupyter", setup["jail"], limits, private, scratch)
    # the kernel sees an allow-list of the instructor's environment (no tokens, no credentials), plus its own
    env = {k: v for k, v in os.environ.items()
           if k in KERNEL_ENV or k.startswith(("LC_", "OMP_", "MKL_", "TF_", "XLA_", "JAX_"))}
    env.update({"CNNLAB_GRADING": "1", "CNNLAB_QUICK": "1" if options.quick else "0", "TF_CPP_MIN_LOG_LEVEL": "3",
                "PYTHONWARNINGS": "ignore", "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(scratch),
                "MPLCONFIGDIR": str(scratch / ".mpl"), "TMPDIR": str(tmp), "IPYTHONDIR": str(private / "ipython"),
                "JUPYTER_PATH": str(private / "jupyter"), "JUPYTER_RUNTIME_DIR": str(runtime),
                "JUPYTER_CONFIG_DIR": str(private / "jupyter-config"), "JUPYTER_PLATFORM_DIRS": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))})
    job = {"lab": options.lab, "student": submission.student, "slug": submission.slug, "work_dir": str(work),
           "scratch": str(scratch), "notebook": str(submission.notebook) if submission.notebook else None,
           "notebook_name": setup["config"].notebook, "missing_reason": submission.missing_reason,
           "missing_status": submission.status.value, "intake_notes": submission.notes,
           "files": {name: str(path) for name, path in submission.files.items()},
           "submission_dir": str(work / "models"), "released": str(setup["released"]), "gradebook": str(setup["snapshot"]),
           "config": setup["config"].to_json(), "max_score": setup["max_score"], "cell_timeout": options.cell_timeout,
           "limits": limits, "isolation": setup["isolation"], "mpl_cache": str(setup["mpl"]),
           "jail": setup["jail"].to_json(), "model_timeout": options.model_timeout,
           "model_work": str(options.out / ".work" / options.lab / "jail"),
           "data_dir": str(options.data_dir) if options.data_dir else None, "quick": options.quick, "env": env,
           "result": str(work / "result.json"), "feedback_html": str(work / "feedback.html"),
           "autograded": str(work / "autograded.ipynb"), "reference": setup["reference"]}
    (work / "models").mkdir()
    for name, path in submission.files.items():  # the grader's own copy of the models: the kernel cannot touch it
        shutil.copy(path, work / "models" / name)
    (work / "job.json").write_text(json.dumps(job, indent=1))
    started = time.monotonic()
    slot = setup["slots"].get()
    try:
        outcome, returncode = slot.run(work / "job.json", work / "result.json", options.timeout)
    finally:
        setup["slots"].put(slot)
    elapsed = time.monotonic() - started
    shutil.rmtree(private, ignore_errors=True)
    if outcome == "stopped":
        raise Interrupted(submission.student)
    result_path = work / "result.json"
    result = new_result(submission.student, options.lab, setup["max_score"], setup["isolation"], slug=submission.slug)
    result["timings"]["total"] = round(elapsed, 3)
    if outcome == "timeout":
        result.update(status=Status.TIMEOUT.value, reason=f"0 of {setup['max_score']:g} points; grading took longer "
                      f"than {options.timeout:g} s and was stopped (an endless loop, or a very slow notebook).")
    elif result_path.exists():
        result = json.loads(result_path.read_text())
    else:
        result.update(status=Status.GRADER_ERROR.value, reason=f"no score: the grader's worker stopped (exit "
                      f"{returncode}) before writing a result; it is graded again on the next run; an instructor "
                      f"should look at {slot.log_path}.")
    result["files_sha256"] = subs.file_digests(submission, setup["config"].notebook)
    if not setup["jail"].jailed:
        result["unsafe_no_sandbox"] = True
        result["reason"] = f"UNSAFE, graded without a sandbox (--unsafe-no-sandbox): {result['reason']}"
    if not (work / "feedback.html").exists():
        from cnnlab.grading.feedback import write_missing_feedback

        write_missing_feedback(result, work / "feedback.html")
    return result


# -- storage --

def record(options, result, setup):
    """Keep the result: feedback/, nbgrader's gradebook, then results/<lab>/<slug>.json (which marks it done)."""
    out = options.out
    slug = result.get("slug", result["student"])
    work = out / ".work" / result["lab"] / slug
    feedback = out / "feedback" / slug / f"{result['lab']}.html"
    feedback.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "feedback.html", feedback)
    write_gradebook(out / "gradebook.db", [result])
    path = out / "results" / result["lab"] / f"{slug}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(path)


def write_gradebook(db, results):
    """Scores into nbgrader's gradebook: one submission per student and lab, auto_score per graded cell.

    Results the gradebook does not take (rejected intake, grader errors) are left out."""
    import warnings

    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own autoflush warnings on a new submission

    with Gradebook(f"sqlite:///{db}") as gb:
        for result in results:
            if not Status(result["status"]).in_gradebook:
                continue
            gb.update_or_create_student(result["student"])
            submission = gb.update_or_create_submission(result["lab"], result["student"])
            scores = {c["grade_id"]: c["score"] for c in result["cells"]}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = scores.get(grade.name, 0.0)
                    grade.needs_manual_grade = False
            gb.db.commit()


def sync_gradebook(db, lab, results):
    """Write into the gradebook the kept results of `lab` it lacks or scores differently (a run killed between
    the two writes); returns the students written."""
    from nbgrader.api import Gradebook, MissingEntry

    stale = []
    with Gradebook(f"sqlite:///{db}") as gb:
        for result in results:
            if result["lab"] != lab or not Status(result["status"]).in_gradebook:
                continue
            try:
                if abs(gb.find_submission(lab, result["student"]).score - result["score"]) < 1e-9:
                    continue
            except MissingEntry:
                pass
            stale.append(result)
    if stale:
        write_gradebook(db, stale)
    return [r["student"] for r in stale]


def load_results(out):
    results = []
    for path in sorted((Path(out) / "results").glob("*/*.json")):
        results.append(json.loads(path.read_text()))
    return results


def write_outputs(out, results):
    """grades.csv and the class report from every result kept in `out`."""
    out = Path(out)
    with open(out / "grades.csv.tmp", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, CSV_FIELDS)
        writer.writeheader()
        for r in sorted(results, key=lambda r: (r["student"], r["lab"])):
            writer.writerow({"student": r["student"], "lab": r["lab"], "score": f"{r['score']:g}",
                             "max_score": f"{r['max_score']:g}", "status": r["status"], "reason": r["reason"]})
    (out / "grades.csv.tmp").replace(out / "grades.csv")
    from cnnlab.grading.report import write_report

    write_report(out / "report", results)


# -- the batch --

def grade(options):
    """Grade every submission of one lab; returns the results of this run's slice (all kept in options.out)."""
    options.out = Path(options.out).resolve()
    options.out.mkdir(parents=True, exist_ok=True)
    config = labconfig.load(options.lab, options.config_dir)
    missing = labconfig.missing_data(config, options.data_dir)
    if missing:
        raise GradingError(f"{options.lab}: the model checks of autograder/labs/{options.lab}.json read the grader's "
                           f"data, and {missing}. Pass --data DIR (default $CNNLAB_DATA_DIR), the folder holding "
                           f"the course's datasets (shared/data)")
    released_dir, snapshot, source_digest = course(options)
    released = released_dir / config.notebook
    if not released.exists():
        raise GradingError(f"{options.lab}: the release has no {config.notebook}; set \"notebook\" in "
                           f"{options.config_dir / (options.lab + '.json')}")
    release_nb = nbformat.read(released, as_version=4)
    graded_cells = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"]
                    for c in release_nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    labconfig.check_points(config, graded_cells)
    started = time.monotonic()
    try:  # the solution's own values for the probed tests: one trusted kernel per lab, kept while unchanged
        reference_path = reference.compute(options.source / options.lab / config.notebook,
                                           options.out / ".work" / options.lab, options.quick)
    except (RuntimeError, ValueError) as error:
        raise GradingError(f"{options.lab}: the reference for the probed tests could not be made: {error}") from None
    if reference_path:
        log(options, f"{options.lab}: reference values of the probed tests ready ({time.monotonic() - started:.1f} s)")
    root = Path(options.submissions).resolve()
    if not root.exists():
        raise GradingError(f"--submissions {options.submissions}: no such file or folder")
    if root.is_file():
        if root.suffix.lower() != ".zip":
            raise GradingError(f"--submissions {options.submissions}: expected a folder or a .zip archive")
        root = subs.unpack(root, options.out / ".imported")
    found, warnings = subs.discover(root, options.lab, config.notebook, [m.name for m in config.models], options.id_pattern)
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
    setup = {"config": config, "released": released, "snapshot": snapshot, "max_score": float(sum(graded_cells.values())),
             "jail": jail, "isolation": described, "mpl": _mpl_cache(options.out),
             "submissions_root": root, "private_root": private_root,
             "reference": str(reference_path) if reference_path else None}
    log(options, f"{options.lab}: {len(mine)} submissions{f' (shard {index}/{count} of {len(found)})' if count > 1 else ''}; "
                 f"{options.workers} worker(s); kernel isolation: {described}")
    extra = {"source": source_digest, "config": config.to_json(), "timeout": options.timeout, "quick": options.quick,
             "cell_timeout": options.cell_timeout, "memory_mb": options.memory_mb, "data": str(options.data_dir),
             "jail": jail.mode}
    synced = sync_gradebook(options.out / "gradebook.db", options.lab, load_results(options.out))
    if synced:
        log(options, f"gradebook brought in line with the kept results of {len(synced)} students: {', '.join(synced)}")
    todo, results = [], []
    for submission in mine:
        digest = _hash_inputs(submission, extra)
        kept = options.out / "results" / options.lab / f"{submission.slug}.json"
        if kept.exists() and not options.regrade:
            previous = json.loads(kept.read_text())
            if previous.get("input_hash") == digest and previous["status"] in STATUSES and \
                    not Status(previous["status"]).regrade and not previous.get("grader_failure"):  # (older runs)
                results.append(previous)
                continue
        todo.append((submission, digest))
    if len(results):
        log(options, f"{len(results)} already graded with the same files (kept); {len(todo)} to grade")
    started = time.monotonic()
    setup["slots"], setup["stop"] = queue.Queue(), threading.Event()
    workers = [WorkerProcess(options.out / ".work" / f"worker-{k}.log", private_root, setup["stop"])
               for k in range(max(1, options.workers))]
    for worker in workers:
        setup["slots"].put(worker)
    previous_handlers = _stop_on_signals()
    try:
        _run_pool(options, setup, todo, results)
    except BaseException:
        setup["stop"].set()
        for worker in workers:
            worker.kill()
        raise
    finally:
        try:
            _close_all(workers)
        finally:
            shutil.rmtree(private_root, ignore_errors=True)
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
    elapsed = time.monotonic() - started
    write_outputs(options.out, load_results(options.out))
    if todo:
        log(options, f"graded {len(todo)} submissions in {elapsed:.1f} s ({60 * len(todo) / elapsed:.1f} per minute); "
                     f"{options.out / 'grades.csv'}")
    return results


def _stop_on_signals():
    """SIGTERM and SIGINT raise `Interrupted` in the main thread (the batch then stops its workers); returns
    the handlers they replace. Nothing to do outside the main thread, where signals cannot be handled."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def stop(signum, frame):
        raise Interrupted(f"stopped by {signal.Signals(signum).name}")

    return {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}


def _run_pool(options, setup, todo, results):
    pool = ThreadPoolExecutor(max_workers=max(1, options.workers))
    try:
        futures = {pool.submit(grade_one, s, options, setup): (s, d) for s, d in todo}
        for done, future in enumerate(as_completed(futures), 1):
            submission, digest = futures[future]
            result = future.result()
            result["input_hash"] = digest
            record(options, result, setup)
            results.append(result)
            log(options, f"[{done}/{len(todo)}] {submission.student}: {result['status']} {result['score']:g}/"
                         f"{result['max_score']:g} ({result['timings'].get('total', 0):.1f} s) {result['reason']}")
    except BaseException:
        setup["stop"].set()  # the threads' workers kill themselves and their kernels
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def merge(out, shards):
    """Combine the outputs of `grade --shard i/N` runs into `out`: results, feedback, gradebook, csv, report."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    merged = {}
    for shard_dir in shards:
        shard_dir = Path(shard_dir)
        if not (shard_dir / "results").is_dir():
            raise GradingError(f"{shard_dir}: not a grader output (no results/ folder); pass the --out folders of "
                               f"the shards")
        for path in sorted((shard_dir / "results").glob("*/*.json")):
            result = json.loads(path.read_text())
            key = (result["lab"], result["student"])
            if key in merged and merged[key][0].get("input_hash") != result.get("input_hash"):
                print(f"warning: {result['student']} {result['lab']} graded in two shards with different files; "
                      f"keeping {shard_dir}")
            merged[key] = (result, shard_dir)
    for (lab, student), (result, shard_dir) in sorted(merged.items()):
        slug = result.get("slug", student)
        target = out / "results" / lab / f"{slug}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(result, indent=1))
        feedback = shard_dir / "feedback" / slug / f"{lab}.html"
        if feedback.exists():
            (out / "feedback" / slug).mkdir(parents=True, exist_ok=True)
            shutil.copy(feedback, out / "feedback" / slug / f"{lab}.html")
    for shard_dir in shards:  # the gradebook needs the assignments: take them from a shard's course
        shard_db = Path(shard_dir) / "gradebook.db"
        if shard_db.exists() and not (out / "gradebook.db").exists():
            shutil.copy(shard_db, out / "gradebook.db")
    results = [r for r, _ in merged.values()]
    if (out / "gradebook.db").exists():
        write_gradebook(out / "gradebook.db", results)
    write_outputs(out, load_results(out))
    return results
