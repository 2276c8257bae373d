"""Command line: `cnnlab table NAME`, `cnnlab table --all --check`, `cnnlab networks`, `cnnlab reproduce`,
`cnnlab grade`, `cnnlab release`."""

import argparse
import functools
import gc
import sys

from cnnlab import startup

FORMATS = ("text", "markdown", "html", "json")


def _shape(text):
    try:
        return tuple(int(d) for d in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 32,32,3; got {text!r}") from None


def _table(args):
    from cnnlab import lecture, models
    from cnnlab.profile import profile

    if not args.all and not args.name:
        return "give a network name or --all (see `cnnlab networks`)"
    options = {
        key: value
        for key, value in (("input_shape", args.input_shape), ("num_classes", args.num_classes))
        if value is not None
    }
    build = functools.cache(lambda name: models.build(name, **options))
    for name in models.names() if args.all else [args.name]:
        network = models.get(name)
        table = profile(
            build(name),
            convention=args.convention,
            rows=args.rows,
            **(network.table_options if args.convention == "deck" else {}),
        )
        print(table.render(args.format), end="\n\n")
    if args.check:
        if options:
            return "--check compares the lecture's networks as built by default: drop --input-shape/--num-classes"
        checks = lecture.check_all(build)
        print("Lecture tables, as cnnlab counts them:")
        print("\n".join(check.describe() for check in checks))
        failed = [check.name for check in checks if not check.ok]
        if failed:
            return f"{len(failed)} lecture table(s) do not match: {', '.join(failed)}"
        print(f"all {len(checks)} lecture tables match (the slide typos listed above are not failures)")
    return 0


def _networks(args):
    from cnnlab import models

    for name in models.names():
        network = models.get(name)
        print(f"{name:20s} {network.summary}\n{'':20s} options: {', '.join(network.options())}")
    return 0


def parser():
    top = argparse.ArgumentParser(prog="cnnlab", description="Course labs for CNN architectures.")
    commands = top.add_subparsers(dest="command", required=True)

    table = commands.add_parser("table", help="print a network's table of parameters, operations and volume")
    table.add_argument("name", nargs="?", help="a network (see `cnnlab networks`)")
    table.add_argument("--all", action="store_true", help="every network of the lecture")
    table.add_argument(
        "--check",
        action="store_true",
        help="compare with every lecture table; exit 1 on a mismatch (slide typos are reported)",
    )
    table.add_argument(
        "--convention",
        choices=("deck", "macs", "keras"),
        default="deck",
        help="deck: the lecture's counting (default); macs: multiply-adds; keras: Keras' counts",
    )
    table.add_argument("--format", choices=FORMATS, default="text")
    table.add_argument(
        "--rows",
        choices=("slide", "layers"),
        default="slide",
        help="slide: units grouped as on the slides (default); layers: one row per layer",
    )
    table.add_argument("--input-shape", type=_shape, help="e.g. 32,32,3 (default: the lecture's)")
    table.add_argument("--num-classes", type=int)
    table.set_defaults(run=_table)

    networks = commands.add_parser("networks", help="list the networks and their options")
    networks.set_defaults(run=_networks)

    from cnnlab.train import add_reproduce_parser

    add_reproduce_parser(commands)

    from cnnlab.grading.cli import add_grade_arguments, run_grade

    grade = commands.add_parser("grade", help="autograde a class's submissions of one lab (autograder/README.md)")
    add_grade_arguments(grade)
    grade.set_defaults(run=run_grade)

    release = commands.add_parser("release", help="write the student bundle: released labs, wheel, sdist, README")
    release.add_argument("--out", default="release", help="the bundle's folder (default release/; emptied first)")
    release.add_argument("--root", default=".", help="the course repository (default: the current folder)")
    release.set_defaults(run=_release)
    return top


def _release(args):
    from cnnlab import release

    out = release.build_bundle(args.root, args.out)
    print(f"student bundle {out}:")
    print("\n".join(f"  {path.relative_to(out)}" for path in sorted(out.rglob("*")) if path.is_file()))
    return 0


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        outcome = args.run(args)
    except (ValueError, TypeError) as error:  # bad names, options and shapes: one line, no traceback
        outcome = str(error)
    # The command is done: exempt what it made from the garbage collector's pass at interpreter exit, which
    # took 1 s after TensorFlow's import on the course's 2-core machine (0.1 s frozen). Objects are still
    # freed by reference counting; files are closed by the commands themselves.
    gc.freeze()
    if isinstance(outcome, str):
        print(f"cnnlab: error: {outcome}", file=sys.stderr)
        return 1
    return outcome


def command():
    """The `cnnlab` command: `main` in a process of its own, which skips JAX's and matplotlib's imports and imports
    TensorFlow quietly (`cnnlab.startup`) before the parser imports Keras. Only `grade` plots (its reports)."""
    startup.skip_unused_imports(plotting=sys.argv[1:2] == ["grade"])
    startup.quiet_tensorflow()
    return main()


if __name__ == "__main__":
    sys.exit(command())
