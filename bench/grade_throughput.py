"""Benchmark: grade N copies of a lab's solution with 1 and with 2 workers; submissions per minute and the cost.

Run: `python bench/grade_throughput.py LAB [--copies 50] [--workers 1 2]` (or `make bench-grader LAB=...`).
Each copy is the release with the solution's answers filled in (what a good student submits), plus the lab's
saved models when its config asks for some: `--models DIR` (a folder holding `<name>.keras` files), or, by
default, the models of one quick-mode run of the solution notebook, made first (outside the timings; lab 2:
about 15 s). The copies are graded with `--quick` (their models come from a quick-mode run, so the accuracy
checks use `quick_min`) and the grader's data from `--data` (default $CNNLAB_DATA_DIR).

Prints, per worker count: wall time, submissions per minute, and the mean per-submission cost broken down as
the worker measured it: kernel start, imports (cells before the first answer), evaluation (the other cells),
model checks (inspection, a child of the worker's model server per model, judging; beside the kernel), the wait
for them after the kernel was done, the reference (the worker's reference kernel: this submission's expected
values and its stand-ins' answers, beside the kernel; a worker's first submission also starts it) and the wait
for it, and the rest (reading, restoring cells, stopping the kernel, writing the feedback). Also, as a same-run
baseline, the time to import keras in a fresh interpreter, and the load average before and after each run: on a
shared machine the numbers move with the other users' load.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def busy_note(load_before, cores=None):
    """A warning when every core was already busy before the run: the timings then include other users' load."""
    return " (other users share these cores)" if load_before >= (cores or os.cpu_count()) else ""


def keras_import_seconds():
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import keras"],
        check=True,
        capture_output=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""},
    )
    return time.perf_counter() - start


def solution_models(lab, directory):
    """Run the lab's solution notebook once in quick mode in `directory`, where it saves its models; seconds taken."""
    import nbformat
    from nbclient import NotebookClient

    directory.mkdir(parents=True)
    nb = nbformat.read(ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "CNNLAB_GRADING"} | {"CNNLAB_QUICK": "1"}
    start = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(directory)}}).execute(
        env=env
    )
    return time.perf_counter() - start


def make_class(lab, copies, directory, models):
    from grading_helpers import answered, write

    from cnnlab.grading.course import labconfig

    config = labconfig.load(lab, ROOT / "autograder" / "labs")
    nb = answered(lab)
    for i in range(copies):
        student = directory / f"s{i:03d}" / lab
        write(student / config.notebook, nb)
        for model in config.models:
            source = Path(models) / f"{model.name}.keras"
            if not source.exists():
                raise SystemExit(
                    f"{lab} needs {model.name}.keras, which {models} lacks: pass --models DIR with the "
                    f"trained solution's models, or leave --models out to make them"
                )
            shutil.copy(source, student / source.name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lab", help="a lab of solutions/, e.g. lab1_convolution")
    parser.add_argument("--copies", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--models",
        type=Path,
        help="folder with the solution's saved models (default: run the solution in quick mode once)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=os.environ.get("CNNLAB_DATA_DIR"),
        help="the grader's data for the accuracy checks (default $CNNLAB_DATA_DIR)",
    )
    args = parser.parse_args(argv)
    from cnnlab.grading.batch import run as batch
    from cnnlab.grading.batch.options import Options
    from cnnlab.grading.course import labconfig
    from cnnlab.grading.course import nbgrader as course

    missing = labconfig.missing_data(labconfig.load(args.lab, ROOT / "autograder" / "labs"), args.data)
    if missing:
        raise SystemExit(
            f"{args.lab}: its model checks read the grader's data, and {missing}: pass --data DIR "
            f"or set CNNLAB_DATA_DIR to the course's shared/data folder"
        )

    baseline = keras_import_seconds()
    print(
        f"{args.lab}: {args.copies} copies of the solution; baseline: `import keras` in a fresh interpreter "
        f"{baseline:.1f} s"
    )
    with tempfile.TemporaryDirectory(prefix="cnnlab-bench-") as tmp:
        tmp = Path(tmp)
        models = args.models
        if models is None and labconfig.load(args.lab, ROOT / "autograder" / "labs").models:
            models = tmp / "solution"
            print(
                f"the solution's models: one quick-mode run of the solution notebook took "
                f"{solution_models(args.lab, models):.1f} s (not part of the timings)"
            )
        make_class(args.lab, args.copies, tmp / "class", models)
        print(
            f"{'workers':>7s} {'wall s':>7s} {'per min':>8s} {'kernel':>7s} {'imports':>8s} {'eval':>6s} "
            f"{'models':>7s} {'wait':>6s} {'ref':>6s} {'wait':>6s} {'rest':>6s} {'total':>6s}  "
            f"(mean seconds per submission)  "
            f"load before/after"
        )
        for workers in args.workers:
            out = tmp / f"out-{workers}"
            options = Options(
                lab=args.lab,
                submissions=tmp / "class",
                out=out,
                workers=workers,
                timeout=600,
                cell_timeout=300,
                quick=True,
                data_dir=args.data,
                verbose=False,
            )
            course.prepare(Options(**{**options.__dict__, "out": out.resolve()}))  # set-up outside the timing
            load_before = os.getloadavg()[0]
            start = time.perf_counter()
            results = batch.grade(options)
            wall = time.perf_counter() - start
            bad = [r for r in results if r.status != "graded" or r.score != r.max_score]
            if bad:
                raise SystemExit(f"{len(bad)} copies of the solution did not get full marks: {bad[0].reason}")
            t = {
                k: statistics.mean(r.timings.get(k, 0) for r in results)
                for k in (
                    "kernel_start",
                    "imports",
                    "evaluation",
                    "model_checks",
                    "model_wait",
                    "reference",
                    "reference_wait",
                    "total",
                )
            }
            rest = (
                t["total"] - t["kernel_start"] - t["imports"] - t["evaluation"] - t["model_wait"] - t["reference_wait"]
            )
            print(
                f"{workers:7d} {wall:7.1f} {60 * len(results) / wall:8.1f} {t['kernel_start']:7.2f} "
                f"{t['imports']:8.2f} {t['evaluation']:6.2f} {t['model_checks']:7.2f} {t['model_wait']:6.2f} "
                f"{t['reference']:6.2f} {t['reference_wait']:6.2f} {rest:6.2f} {t['total']:6.2f}  "
                f"{load_before:.1f}/{os.getloadavg()[0]:.1f}{busy_note(load_before)}"
            )
            (out / "timings.json").write_text(json.dumps(t))


if __name__ == "__main__":
    main()
