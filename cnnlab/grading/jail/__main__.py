"""`python -m cnnlab.grading.jail`: say what isolation this machine (a cluster node) gives the grader's kernels.

Tries the jail for real (`bwrap.probe`) and prints one line: the jail the grader will use, exit 0; or why there
is none and what to do, exit 1 (`--unsafe-no-sandbox`: what the grader would do without one, exit 0). A Slurm job
runs it before grading (autograder/slurm/grade.sbatch), so a node that cannot jail says so in the job's log
before any notebook runs."""

import argparse
import sys

from cnnlab.grading.jail import bwrap


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnnlab.grading.jail", description=__doc__.splitlines()[0])
    parser.add_argument("--unsafe-no-sandbox", action="store_true", help="accept a machine without a jail")
    args = parser.parse_args(argv)
    try:
        jail = bwrap.probe(allow_unsafe=args.unsafe_no_sandbox)
    except bwrap.JailError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"kernel isolation on this machine: {jail.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
