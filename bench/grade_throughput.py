"""Benchmark against the peer: one class of answered notebooks graded by nbgrader's own `nbgrader autograde` and by
cnnlab's grader, back to back in one run, for each lab asked; both rates, the ratio and the same scores.

Run: `python bench/grade_throughput.py [LAB ...] [--copies 16] [--workers 2]` (or `make bench-grader`; default
labs 1 and 2). For each lab:

1. the class: `--copies` copies of the release with the solution's answers filled in (what a good student
   submits), with the lab's saved models when its config asks for some: `--models DIR`, or by default those of one
   quick-mode run of the solution notebook, made first (outside the timings);
2. nbgrader: a scratch nbgrader course made from ours (`source/` the solution, `nbgrader generate_assignment`
   outside the timing, `submitted/<student>/<lab>/` the class), then `nbgrader autograde LAB`, timed: serial, no
   sandbox, its kernels with the grader's data and `CNNLAB_GRADING=1 CNNLAB_QUICK=1`, as the labs need;
3. cnnlab: `python -m autograder grade --lab LAB --submissions CLASS --workers W --quick --data DIR`, timed, on
   a fresh `--out` whose nbgrader release was made first (the same `generate_assignment`, outside the timing); its
   run includes everything else: the check of the probed tests' reference, the workers and their kernel, model
   and reference servers (their imports, the solution's run), every jail.

Prints, per lab: each grader's wall time and submissions per minute, the ratio of cnnlab's time to nbgrader's,
the mean seconds of one cnnlab submission by step (`timings` of its results: kernel start, imports, evaluation,
probes, judging, model checks and the wait for them, the reference (the worker's reference kernel: this
submission's expected values and its stand-ins' answers, beside the kernel) and the wait for it, feedback, the
rest; the CPU seconds of its kernel and of its worker), the seconds of the batch's check of the reference, the
load average before and after each run (on a shared machine the numbers move with the other users' load) and a
fresh interpreter's `import keras`. Stops with an error when the two graders give any student
different scores. `--baseline DIR` grades the class a third time with the cnnlab of another checkout (e.g. an
older commit), back to back: before and after a change.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
QUIET = {"capture_output": True, "text": True}
STEPS = (
    "kernel_start",
    "imports",
    "evaluation",
    "probes",
    "judge",
    "model_checks",
    "model_wait",
    "reference",
    "reference_wait",
    "feedback",
)
BESIDE = ("model_checks", "reference")  # (run beside the kernel: their waits are in the total)
CPU = ("kernel_cpu", "worker_cpu")  # seconds of CPU, which other users' load does not stretch


def keras_import_seconds():
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import keras"],
        check=True,
        capture_output=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""},
    )
    return time.perf_counter() - start


def nbg(cell):
    return cell.metadata.get("nbgrader", {})


def answered(lab):
    """The release with the solution cells filled in from the solution notebook: what a good student submits."""
    solution = nbformat.read(ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    answers = {nbg(c)["grade_id"]: c.source for c in solution.cells if nbg(c).get("solution")}
    nb = nbformat.read(ROOT / "labs" / lab / f"{lab}.ipynb", as_version=4)
    for cell in nb.cells:
        if nbg(cell).get("solution"):
            cell.source = answers[nbg(cell)["grade_id"]]
    return nb


def solution_models(lab, directory):
    """Run the lab's solution notebook once in quick mode in `directory`, where it saves its models; seconds taken."""
    from nbclient import NotebookClient

    directory.mkdir(parents=True)
    nb = nbformat.read(ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "CNNLAB_GRADING"} | {"CNNLAB_QUICK": "1"}
    start = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(directory)}}).execute(
        env=env
    )
    return time.perf_counter() - start


def make_class(lab, config, copies, directory, models):
    """`copies` students `s000`... each with `<lab>/<notebook>` and the lab's models: [student ids]."""
    nb = answered(lab)
    students = [f"s{i:03d}" for i in range(copies)]
    for student in students:
        folder = directory / student / lab
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / config.notebook)
        for model in config.models:
            source = Path(models) / f"{model.name}.keras"
            if not source.exists():
                raise SystemExit(
                    f"{lab} needs {model.name}.keras, which {models} lacks: pass --models DIR with the "
                    f"trained solution's models, or leave --models out to make them"
                )
            shutil.copy(source, folder / source.name)
    return students


def environment(data):
    """The graders' environment: this venv's programs on PATH (nbgrader runs alembic), the labs' modes."""
    return dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        CNNLAB_DATA_DIR=str(data),
        CNNLAB_GRADING="1",
        CNNLAB_QUICK="1",
        TF_CPP_MIN_LOG_LEVEL="3",
    )


def nbgrader_run(lab, config, class_dir, course, data):
    """`nbgrader autograde` of the class in a scratch course: (wall seconds, {student: score})."""
    (course / "source" / lab).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / lab / config.notebook, course / "source" / lab / config.notebook)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\nc.Execute.timeout = 600\n"
    )
    env = environment(data)
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run([*nbgrader, "generate_assignment", lab, "--force"], cwd=course, env=env, check=True, **QUIET)
    shutil.copytree(class_dir, course / "submitted")
    start = time.perf_counter()
    subprocess.run([*nbgrader, "autograde", lab], cwd=course, env=env, check=True, **QUIET)
    wall = time.perf_counter() - start
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s.student.id: float(s.score) for s in gradebook.find_assignment(lab).submissions}
    return wall, scores


def cnnlab_run(lab, class_dir, out, data, workers, root=ROOT):
    """`python -m autograder grade` of the class with the cnnlab of `root`: (wall seconds, {student: score},
    [each result's timings], the reference's seconds as logged)."""
    env = dict(environment(data), PYTHONPATH=str(root))
    env.pop("CNNLAB_GRADING")  # (the grader sets it in its kernels)
    prepare = (
        "import sys; from pathlib import Path; from cnnlab.grading.batch.options import Options; "
        "from cnnlab.grading.course.nbgrader import prepare; "
        "prepare(Options(lab=sys.argv[1], submissions=Path(sys.argv[2]), out=Path(sys.argv[3]).resolve()))"
    )
    subprocess.run([sys.executable, "-c", prepare, lab, str(class_dir), str(out)], cwd=root, env=env, check=True)
    command = [sys.executable, "-m", "autograder", "grade", "--lab", lab, "--submissions", str(class_dir)]
    command += ["--out", str(out), "--workers", str(workers), "--quick", "--data", str(data)]
    command += ["--timeout", "600", "--cell-timeout", "300"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, **QUIET)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"cnnlab grade failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    results = [json.loads(p.read_text()) for p in sorted((out / "results" / lab).glob("*.json"))]
    reference = next((line for line in done.stdout.splitlines() if "reference checked" in line), "")
    return wall, {r["student"]: float(r["score"]) for r in results}, [r["timings"] for r in results], reference


def breakdown(timings):
    """Mean seconds per submission of each step, and the rest of the total."""
    means = {step: statistics.mean(t.get(step, 0) for t in timings) for step in (*STEPS, *CPU, "total")}
    means["rest"] = means["total"] - sum(means[s] for s in STEPS if s not in BESIDE)
    return means


def bench_lab(lab, args, tmp):
    from cnnlab.grading.course import labconfig

    config = labconfig.load(lab, ROOT / "autograder" / "labs")
    missing = labconfig.missing_data(config, args.data)
    if missing:
        raise SystemExit(
            f"{lab}: its model checks read the grader's data, and {missing}: pass --data DIR "
            f"or set CNNLAB_DATA_DIR to the course's shared/data folder"
        )
    models = args.models
    if models is None and config.models:
        models = tmp / "solution"
        print(f"{lab}: the solution's models from one quick-mode run ({solution_models(lab, models):.1f} s, untimed)")
    class_dir = tmp / "class"
    students = make_class(lab, config, args.copies, class_dir, models)
    runs = {}
    load = os.getloadavg()[0]
    wall, scores = nbgrader_run(lab, config, class_dir, tmp / "nbgrader", args.data)
    runs["nbgrader autograde"] = (wall, scores, None, "", load, os.getloadavg()[0])
    checkouts = [("cnnlab", ROOT)] + ([(f"cnnlab at {args.baseline}", args.baseline)] if args.baseline else [])
    for k, (name, root) in enumerate(checkouts):
        load = os.getloadavg()[0]
        wall, scores, timings, reference = cnnlab_run(lab, class_dir, tmp / f"out-{k}", args.data, args.workers, root)
        runs[name] = (wall, scores, timings, reference, load, os.getloadavg()[0])
    peer = runs["nbgrader autograde"][0]
    print(f"\n{lab}: {len(students)} answered notebooks; cnnlab with {args.workers} workers, nbgrader serial")
    print(f"{'grader':<34s} {'wall s':>7s} {'per min':>8s} {'x nbgrader':>10s}  load before/after")
    for name, (wall, _, _, _, before, after) in runs.items():
        print(f"{name:<34s} {wall:7.1f} {60 * len(students) / wall:8.1f} {wall / peer:10.2f}  {before:.1f}/{after:.1f}")
    columns = (*STEPS, "rest", "total", *CPU)
    print(f"mean seconds of one submission:    {' '.join(f'{s:>8s}' for s in columns)}")
    for name, (_, _, timings, reference, *_) in runs.items():
        if timings:
            means = breakdown(timings)
            print(f"  {name:<33s} {' '.join(f'{means[s]:8.2f}' for s in columns)}")
            if reference:
                print(f"    ({reference.split(': ', 1)[-1]})")
    points = sum(nbg(c)["points"] for c in answered(lab).cells if nbg(c).get("grade"))
    different = {
        name: {s: scores.get(s) for s in students if scores.get(s) != points} for name, (_, scores, *_) in runs.items()
    }
    if any(different.values()):
        raise SystemExit(f"{lab}: scores other than full marks ({points:g}): {different}")
    print(f"same scores: every notebook {points:g} of {points:g} points with each grader")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*", default=["lab1_convolution", "lab2_first_convnet"], help="labs to grade")
    parser.add_argument("--copies", type=int, default=16, help="answered notebooks in the class (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="cnnlab's workers (default 2)")
    parser.add_argument("--models", type=Path, help="folder with the solution's saved models (default: made once)")
    parser.add_argument(
        "--data",
        type=Path,
        default=os.environ.get("CNNLAB_DATA_DIR"),
        help="the course's datasets, for the labs and the model checks (default $CNNLAB_DATA_DIR)",
    )
    parser.add_argument("--baseline", type=Path, help="another checkout of cnnlab to grade the class with too")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # (its lines as they come, also into a file)
    if args.data is None:
        raise SystemExit("pass --data DIR or set CNNLAB_DATA_DIR to the course's shared/data folder")
    sys.path.insert(0, str(ROOT))
    print(
        f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; `import keras` in a fresh interpreter "
        f"{keras_import_seconds():.1f} s"
    )
    for lab in args.labs:
        with tempfile.TemporaryDirectory(prefix="cnnlab-bench-") as tmp:
            bench_lab(lab, args, Path(tmp))


if __name__ == "__main__":
    main()
