"""`python -m autograder` / `cnnlab grade`: grade a class's submissions; `merge`: combine shards; `export`: write
the outputs again (after a change of the overrides or the course's rules) without grading; `handgrade`: the TA's
page for the questions a person grades."""

import argparse
import os
import sys
from pathlib import Path

from cnnlab.grading.batch.options import (
    Options,  # its defaults are the options' (batch.py imports nbgrader: only when grading)
)
from cnnlab.grading.errors import GradingError


def _shard(text):
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/N, like 0/4. Received: {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"expected 0 <= i < N. Received: {text!r}")
    return index, count


def add_grade_arguments(grade):
    grade.add_argument("--lab", required=True, help="the lab, a folder of solutions/ (e.g. lab1_convolution)")
    grade.add_argument(
        "--submissions",
        required=True,
        type=Path,
        help="the LMS's download (a folder or a .zip): Canvas, Moodle, Gradescope, Blackboard, or plain folders "
        "(DIR/<student>/<lab>/*.ipynb, or flat files named <student>_...)",
    )
    grade.add_argument(
        "--lms",
        choices=("canvas", "moodle", "gradescope", "blackboard", "folders"),
        default=Options.lms,
        help="the download's layout (default: told from its file names)",
    )
    grade.add_argument(
        "--roster",
        type=Path,
        default=Options.roster,
        help="the LMS's export of the class (Canvas gradebook CSV, Moodle grading worksheet, ...): every enrolled "
        "student gets a row, those who handed in nothing as missing",
    )
    grade.add_argument(
        "--student",
        default=Options.student,
        help="grade this student (LMS id) again and keep everyone else's result",
    )
    grade.add_argument(
        "--out", required=True, type=Path, help="where grades.csv, feedback/, report/ and gradebook.db go"
    )
    grade.add_argument(
        "--workers", type=int, default=Options.workers, help=f"submissions graded at once (default {Options.workers})"
    )
    grade.add_argument(
        "--timeout",
        type=float,
        default=Options.timeout,
        help=f"wall-clock seconds per submission (default {Options.timeout:g})",
    )
    grade.add_argument(
        "--cell-timeout",
        type=float,
        default=None,
        help=f"seconds per cell before it is interrupted (default: min({Options.cell_timeout:g}, --timeout))",
    )
    grade.add_argument(
        "--memory",
        type=int,
        default=Options.memory_mb,
        help=f"address-space limit of a kernel, MB (default {Options.memory_mb}: TensorFlow and a VGG fit)",
    )
    grade.add_argument(
        "--processes",
        type=int,
        default=Options.processes,
        help=f"processes and threads of one jailed kernel or model check (default {Options.processes})",
    )
    grade.add_argument(
        "--model-timeout",
        type=float,
        default=Options.model_timeout,
        help=f"seconds per model check, in its own jail (default {Options.model_timeout:g})",
    )
    grade.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade even where no jail can be made (no bubblewrap or user namespaces): only for work "
        "you trust; every result says so",
    )
    grade.add_argument("--quick", action="store_true", help="run the notebooks in quick mode (CNNLAB_QUICK=1)")
    grade.add_argument(
        "--data",
        type=Path,
        default=os.environ.get("CNNLAB_DATA_DIR"),
        help="the grader's test sets for accuracy checks (default $CNNLAB_DATA_DIR)",
    )
    grade.add_argument(
        "--shard", type=_shard, default=Options.shard, help="grade slice i of N (by student id), e.g. 0/4"
    )
    grade.add_argument(
        "--id-pattern",
        default=Options.id_pattern,
        help=f"regex whose group 1 is the student id in flat file names (default {Options.id_pattern!r})",
    )
    grade.add_argument(
        "--regrade", action="store_true", help="grade again even submissions already graded with the same files"
    )
    add_course_arguments(grade)
    grade.add_argument(
        "--releases",
        type=Path,
        default=Options.releases,
        help="the lab's published releases (default autograder/releases, kept by `make labs`)",
    )
    grade.add_argument("--source", type=Path, default=Options.source, help=argparse.SUPPRESS)
    grade.add_argument("--config-dir", type=Path, default=Options.config_dir, help=argparse.SUPPRESS)


def add_course_arguments(command):
    command.add_argument(
        "--course",
        type=Path,
        default=Options.course_file,
        help="the course's rules: time zone, due dates, late policy, extensions (default autograder/course.toml)",
    )
    command.add_argument(
        "--overrides",
        type=Path,
        default=Options.overrides,
        help="the instructors' overrides (default: course.toml's [grading] overrides, autograder/overrides.csv)",
    )


def parser(prog="python -m autograder"):
    top = argparse.ArgumentParser(prog=prog, description="Grade a class's lab notebooks with nbgrader.")
    commands = top.add_subparsers(dest="command", required=True)
    add_grade_arguments(commands.add_parser("grade", help="grade every submission of one lab"))
    handgrade = commands.add_parser(
        "handgrade", help="grade the questions a TA grades, question by question, on a page served on this machine"
    )
    handgrade.add_argument("--lab", required=True, help="the lab, as graded into --out")
    handgrade.add_argument("--out", required=True, type=Path, help="the grader's output folder of that lab")
    handgrade.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (default: a free one)")
    handgrade.add_argument(
        "--grader", default=os.environ.get("USER", ""), help="your name in the grades' log (default $USER)"
    )
    add_course_arguments(handgrade)
    handgrade.add_argument("--source", type=Path, default=Options.source, help=argparse.SUPPRESS)
    handgrade.add_argument("--config-dir", type=Path, default=Options.config_dir, help=argparse.SUPPRESS)
    merge = commands.add_parser("merge", help="combine the --out folders of `grade --shard i/N` runs")
    merge.add_argument("--out", required=True, type=Path, help="the combined output folder")
    merge.add_argument("shards", nargs="+", type=Path, help="the shards' --out folders")
    add_course_arguments(merge)
    export = commands.add_parser(
        "export", help="write grades.csv, the LMS files, feedback grades and the report again, without grading"
    )
    export.add_argument("--out", required=True, type=Path, help="a grading output folder")
    export.add_argument("--lab", default=None, help="only this lab (default: every lab in --out)")
    add_course_arguments(export)
    return top


def one_line(error):
    """A `GradingError`'s message as one line."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def run_grade(args):
    """`grade`: 0, or one line saying what stopped it (a `GradingError`, SIGTERM or SIGINT)."""
    from cnnlab.grading.batch import pool
    from cnnlab.grading.batch import run as batch

    cell_timeout = args.cell_timeout if args.cell_timeout is not None else min(Options.cell_timeout, args.timeout)
    try:
        options = Options(
            lab=args.lab,
            submissions=args.submissions,
            out=args.out,
            workers=args.workers,
            timeout=args.timeout,
            cell_timeout=cell_timeout,
            memory_mb=args.memory,
            quick=args.quick,
            source=args.source,
            config_dir=args.config_dir,
            data_dir=args.data,
            shard=args.shard,
            id_pattern=args.id_pattern,
            regrade=args.regrade,
            processes=args.processes,
            model_timeout=args.model_timeout,
            unsafe_no_sandbox=args.unsafe_no_sandbox,
            lms=args.lms,
            roster=args.roster,
            course_file=args.course,
            overrides=args.overrides,
            student=args.student,
            releases=args.releases,
        )
        batch.grade(options)
    except GradingError as error:
        return one_line(error)
    except pool.Interrupted as stop:
        return (
            f"{stop}: the workers and their kernels were stopped and the scratch folders removed; "
            f"what was graded is kept in {args.out}: run the same command again to grade the rest"
        )
    return 0


def _overrides_file(args):
    from cnnlab.grading.course import term

    return args.overrides if args.overrides is not None else term.load(args.course).overrides


def run_merge(args):
    """`merge`: 0, or one line saying what stopped it."""
    from cnnlab.grading.results import store

    try:
        store.merge(args.out, args.shards, _overrides_file(args))
    except GradingError as error:
        return one_line(error)
    print(f"merged {len(args.shards)} shards into {args.out}")
    return 0


def run_handgrade(args):
    """`handgrade`: serves the TA's page until Ctrl-C; 0, or one line saying what stopped it."""
    from cnnlab.grading.handgrading.server import serve

    try:
        serve(args.out, args.lab, args.port, args.grader, args.source, args.config_dir, _overrides_file(args))
    except GradingError as error:
        return one_line(error)
    return 0


def run_export(args):
    """`export`: 0, or one line saying what stopped it."""
    from cnnlab.grading.batch import run as batch

    try:
        options = Options(
            lab=args.lab, submissions=None, out=args.out, course_file=args.course, overrides=args.overrides
        )
        notes = batch.export(options)
    except GradingError as error:
        return one_line(error)
    for lab, lab_notes in notes.items():
        for note in lab_notes:
            print(f"{lab}: {note}")
    print(f"wrote the outputs of {', '.join(notes) or 'no lab'} in {args.out}")
    return 0


def main(argv=None, prog="python -m autograder"):
    """The exit status; what stopped a command is one line on stderr."""
    args = parser(prog).parse_args(argv)
    commands = {"grade": run_grade, "merge": run_merge, "export": run_export, "handgrade": run_handgrade}
    outcome = commands[args.command](args)
    if isinstance(outcome, str):
        print(f"{prog}: error: {outcome}", file=sys.stderr)
        return 1
    return outcome


if __name__ == "__main__":
    sys.exit(main())
