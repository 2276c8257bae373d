"""Make labs/ (the students' notebooks) from solutions/ (nbgrader's source) with `nbgrader generate_assignment`.

    python autograder/make_labs.py                  # every lab: sync set-up cells, regenerate labs/
    python autograder/make_labs.py lab1_convolution # one lab
    python autograder/make_labs.py --out DIR        # write DIR/<lab>/ instead of labs/<lab>/ (the drift test)

First, each solution notebook's first cell is made equal to `cnnlab.lab.setup_cell_source(lab, install)`, with
the install line of autograder/course.toml and cnnlab's version (skipped with --out, which must not touch
solutions/). Then nbgrader runs with autograder/nbgrader_config.py in a scratch course directory whose solutions/
links to ours: its log and the copies it makes stay out of the repository. `--no-db`: the gradebook is
the autograder's business (it runs generate_assignment against its own database before autograding).
Then each released notebook gets its hand-in: a "What to hand in" paragraph after the introduction's first cell
and a last cell `lab.submit(...)` naming the lab's models (cnnlab.release.hand_in); solutions/ has neither.
Last, its release version is stamped into its metadata (`"cnnlab": {"release": N}`): the latest version kept in
autograder/releases/<lab>/ when the release is the same, else the next one, kept there as a new folder (the
grader brings a notebook of an older release to the current one; cnnlab.grading.course.releases). With --out
nothing is kept: the stamp is the version the release would get.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "autograder" / "nbgrader_config.py"
SOURCE, RELEASE = ROOT / "solutions", ROOT / "labs"


def assignments():
    """Names of the labs: the folders of solutions/ that hold a notebook."""
    return sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def setup_source(lab):
    """The set-up cell of `lab`: the course's pinned install line (autograder/course.toml) and `lab.setup(lab)`."""
    from cnnlab import release
    from cnnlab.lab import setup_cell_source

    return setup_cell_source(lab, release.course(ROOT)["install"])


def sync_setup_cell(notebook_path):
    """Make the notebook's first cell the lab's set-up cell; returns True when the file changed."""
    nb = nbformat.read(notebook_path, as_version=4)
    first, wanted = nb.cells[0], setup_source(notebook_path.parent.name)
    if first.cell_type == "code" and first.source == wanted:
        return False
    if first.cell_type != "code" or "lab.setup(" not in first.source:
        raise SystemExit(
            f"{notebook_path}: the first cell should be the set-up cell calling lab.setup(...). "
            f"Received: a {first.cell_type} cell starting {first.source[:60]!r}"
        )
    first.source = wanted
    nbformat.write(nb, notebook_path)
    return True


def add_hand_in(notebook_path):
    """Put the hand-in into a released notebook: the paragraph after its second cell, `lab.submit` as its last."""
    from cnnlab import release
    from cnnlab.lab import submit_cell_source

    lab = notebook_path.parent.name
    info = release.hand_in(ROOT, lab)
    nb = nbformat.read(notebook_path, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_markdown_cell(release.hand_in_markdown(info)))
    nb.cells.append(
        nbformat.v4.new_code_cell(
            submit_cell_source(lab, info.models, info.hidden_tests, info.hidden_points, info.model_points)
        )
    )
    nb.cells[2].id, nb.cells[-1].id = "cnnlab-hand-in", "cnnlab-submit"  # fixed: random ids would differ each run
    nbformat.write(nb, notebook_path)


def stamp_release(notebook_path, keep):
    """Stamp the released notebook with its version (cnnlab.grading.course.releases); keep a new version's copy."""
    from cnnlab.grading.course import releases

    lab = notebook_path.parent.name
    if keep:
        version, new = releases.keep(releases.RELEASES, lab, notebook_path)
        if new:
            print(f"{lab}: release {version}, kept in {(releases.RELEASES / lab / str(version)).relative_to(ROOT)}")
        return version
    nb = nbformat.read(notebook_path, as_version=4)
    version, _ = releases.version_of(releases.RELEASES, lab, nb)
    releases.stamp(nb, version)
    nbformat.write(nb, notebook_path)
    return version


def generate(assignment, out_dir):
    """Run `nbgrader generate_assignment` for one lab and put the result in out_dir/<assignment>."""
    with tempfile.TemporaryDirectory(prefix="cnnlab-nbgrader-") as scratch:
        scratch = Path(scratch)
        (scratch / "solutions").symlink_to(SOURCE, target_is_directory=True)
        command = [
            sys.executable,
            "-m",
            "cnnlab.grading.course.nbgrader_app",  # `nbgrader`, started faster
            "generate_assignment",
            assignment,
            "--no-db",
            "--force",
            f"--GenerateAssignmentApp.config_file={CONFIG}",
            f"--CourseDirectory.root={scratch}",
            "--log-level=WARN",
        ]
        result = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
        released = scratch / "labs" / assignment
        if result.returncode != 0 or not released.is_dir():
            raise SystemExit(
                f"nbgrader generate_assignment {assignment} failed (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        target = Path(out_dir) / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(released, target)
    for notebook in sorted(target.glob("*.ipynb")):
        add_hand_in(notebook)
        stamp_release(notebook, keep=Path(out_dir).resolve() == RELEASE)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="labs to make (default: every folder of solutions/)")
    parser.add_argument("--out", type=Path, default=RELEASE, help="where the released labs go (default: labs/)")
    args = parser.parse_args(argv)
    known = assignments()
    for name in args.assignments:
        if name not in known:
            parser.error(f"no lab {name!r} in solutions/. Known: {', '.join(known)}")
    for name in args.assignments or known:
        if args.out.resolve() == RELEASE:
            for notebook in sorted((SOURCE / name).glob("*.ipynb")):
                if sync_setup_cell(notebook):
                    print(f"updated the set-up cell of {notebook.relative_to(ROOT)}")
        target = generate(name, args.out)
        print(f"{name}: {target}")


if __name__ == "__main__":
    main()
