"""The student release: what each lab hands in, the course's install line, and the bundle `make release` writes.

An instructors' tool, run in the course repository (`root`: solutions/, labs/, autograder/). The bundle is what a
course pushes to its public student repository or LMS:

    README.md                  for students: open each lab in Colab or Jupyter, what to hand in, how
    labs/<lab>/<lab>.ipynb     the released notebooks (nbgrader's release of solutions/, set-up and hand-in cells)
    docs/CONVENTIONS.md        the counting conventions the labs cite
    dist/                      the wheel and sdist of the cnnlab version the notebooks install

`check_bundle` refuses a bundle holding any solution, hidden test, nbgrader marker, or file of solutions/ or of the
grader's checks (autograder/labs/*.json hold the expected values: they stay with the instructors).
"""

import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cnnlab

COURSE_FILE = Path("autograder") / "course.toml"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
SECRET_DIRS = ("solutions", "autograder", "tests")  # none of these may appear in the bundle or its archives


def course(root):
    """The course configuration: `repository` and `install` (the pip requirement, version filled in)."""
    import tomllib  # Python 3.11+: the instructors' tools, not the students' package

    path = Path(root) / COURSE_FILE
    try:
        config = tomllib.loads(path.read_text())["course"]
        repository = config["repository"].rstrip("/")
        install = config["install"].format(repository=repository, version=cnnlab.__version__)
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise ValueError(
            f"{path}: expected a [course] table with `repository` and `install`. "
            f"Received: {type(error).__name__}: {error}"
        ) from None
    return {"repository": repository, "install": install, "version": cnnlab.__version__}


@dataclass
class HandIn:
    """What a lab hands in and what the grader runs beyond the visible tests."""

    lab: str
    notebook: str
    models: list
    hidden_tests: int  # test cells with hidden tests (but those the models' checks score)
    hidden_points: float  # their points
    model_points: float  # the points of the saved models' checks (they replace their test cells' scores)


def hand_in(root, lab):
    """The HandIn of `lab` from its solution notebook and the grader's config (autograder/labs/<lab>.json)."""
    from cnnlab.grading.course import labconfig

    root = Path(root)
    config = labconfig.load(lab, root / "autograder" / "labs")
    nb = json.loads((root / "solutions" / lab / config.notebook).read_text())
    graded = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    scored_by_models = {m.grade_id for m in config.models}  # their score is the models' checks, counted apart
    hidden = [
        c
        for c in graded
        if "### BEGIN HIDDEN TESTS" in "".join(c["source"])
        and c["metadata"]["nbgrader"]["grade_id"] not in scored_by_models
    ]
    return HandIn(
        lab,
        config.notebook,
        [m.name for m in config.models],
        len(hidden),
        sum(c["metadata"]["nbgrader"]["points"] for c in hidden),
        sum(check["points"] for m in config.models for check in m.checks),
    )


def hand_in_markdown(info):
    """The "What to hand in" paragraph make_labs puts in each released notebook's introduction."""
    files = [f"`{info.notebook}`"] + [f"`{name}.keras`" for name in info.models]
    saved = f" and the model{'s' if len(info.models) > 1 else ''} it saves" if info.models else ""
    return (
        "**What to hand in.** This notebook" + saved + ": " + ", ".join(files) + ". "
        "Run the last cell, `lab.submit(...)`, with your student id: it checks that every model is there and "
        f"loads, shows which visible tests pass, and writes `<student id>_{info.lab}.zip` (downloaded in Colab). "
        "Hand in that zip."
    )


# -- the bundle --


def student_readme(config, infos):
    """The bundle's README.md for students."""
    colab = config["repository"].replace("https://github.com/", "https://colab.research.google.com/github/")
    rows = "\n".join(
        f"| {info.lab} | [open in Colab]({colab}/blob/v{config['version']}/labs/{info.lab}/{info.notebook}) | "
        f"{', '.join([info.notebook] + [f'{m}.keras' for m in info.models])} |"
        for info in infos
    )
    return f"""# Labs: Computer vision and CNN architectures (cnnlab {config["version"]})

## Open a lab

- **Colab**: open the lab's link below, pick a GPU (Runtime > Change runtime type > GPU) and run the first cell.
  It installs cnnlab {config["version"]} (and nothing else: Colab's TensorFlow, Keras and NumPy stay) and asks to
  mount your Google Drive, so that your trained models and training checkpoints are kept in
  `MyDrive/cnnlab/<lab>/` and survive a disconnect. Run `lab.setup(quick=True)` in a new cell for a small run.
- **Local Jupyter** (Python 3.10 or newer): `pip install dist/cnnlab-{config["version"]}-py3-none-any.whl jupyter`,
  then `jupyter lab labs/`. Your models are saved next to the notebook.

The counting conventions the labs cite are in [docs/CONVENTIONS.md](docs/CONVENTIONS.md).

## What to hand in, and how

Write your student id in the lab's last cell and run it: `lab.submit(...)` checks that each model the lab needs
is saved and loads, lists the visible tests that pass or fail, says what the grader runs on top (hidden tests and
the checks of your models on its own test data), and writes `<student id>_<lab>.zip`. Hand in that zip.

| lab | open | the zip holds |
| --- | --- | --- |
{rows}
"""


def _secret_lines(root):
    """Lines of the solutions' SOLUTION and HIDDEN TESTS regions that do not also occur outside them (long enough
    not to occur elsewhere by chance)."""
    inside, outside = set(), set()
    for path in sorted(Path(root, "solutions").glob("*/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            within = False
            for line in "".join(cell["source"]).splitlines():
                stripped = line.strip()
                if stripped in MARKERS:
                    within = stripped.startswith("### BEGIN")
                elif len(stripped) > 25 and not stripped.startswith("#"):
                    (inside if within else outside).add(stripped)
    return inside - outside


def _members(path):
    """(name, bytes) of every file in the bundle, the wheel's and sdist's members included."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                yield f"{path.name}!{name}", zf.read(name)
    elif path.name.endswith(".tar.gz"):
        with tarfile.open(path) as tf:
            for member in tf.getmembers():
                if member.isfile():
                    yield f"{path.name}!{member.name}", tf.extractfile(member).read()
    else:
        yield str(path), path.read_bytes()


def check_bundle(bundle, root):
    """Problems that make `bundle` unfit for students (empty when it holds no answer), one sentence each."""
    bundle, root = Path(bundle), Path(root)
    secret_files = {
        p.read_bytes() for d in ("solutions", "autograder/labs") for p in (root / d).rglob("*") if p.is_file()
    }
    secret_lines = _secret_lines(root)
    problems = []
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        for name, data in _members(path):
            where = name.replace(str(bundle) + "/", "")
            parts = re.split(r"[/!]", where)
            if any(part in SECRET_DIRS for part in parts):
                problems.append(f"{where}: a file of the instructors' {[p for p in parts if p in SECRET_DIRS][0]}/")
            if data in secret_files:
                problems.append(f"{where}: a copy of a file from solutions/ or autograder/labs/")
            text = data.decode("utf-8", errors="ignore")
            if where.endswith(".ipynb"):  # notebooks: their JSON strings escape quotes, compare the cell lines
                try:
                    text = "\n".join("".join(c.get("source", "")) for c in json.loads(data).get("cells", []))
                except (ValueError, AttributeError):
                    pass  # not a notebook's JSON: checked as text
            lines = {line.strip() for line in text.splitlines()}
            problems += [f"{where}: holds the nbgrader marker {m!r}" for m in MARKERS if m in lines]
            # The package's own modules may share a line with a solution (cnnlab computes what labs ask students to
            # compute, and the labs compare with it); every other file may not.
            leaked = [] if where.endswith(".py") else sorted(lines & secret_lines)
            if leaked:
                problems.append(
                    f"{where}: holds {len(leaked)} line(s) of solutions or hidden tests, e.g. {leaked[0]!r}"
                )
    return problems


def build_bundle(root, out):
    """Write the student bundle into `out` (emptied first) and check it; raises ValueError naming any leak."""
    root, out = Path(root).resolve(), Path(out).resolve()
    config = course(root)
    if out.exists():
        shutil.rmtree(out)
    (out / "docs").mkdir(parents=True)
    run = lambda *command: subprocess.run(command, cwd=root, check=True)  # noqa: E731
    run(sys.executable, str(root / "autograder" / "make_labs.py"), "--out", str(out / "labs"))
    shutil.copy(root / "docs" / "CONVENTIONS.md", out / "docs" / "CONVENTIONS.md")
    run(sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out / "dist"), str(root))
    labs = sorted(p.name for p in (out / "labs").iterdir() if p.is_dir())
    (out / "README.md").write_text(student_readme(config, [hand_in(root, lab) for lab in labs]))
    problems = check_bundle(out, root)
    if problems:
        raise ValueError(f"the student bundle {out} must not hold answers; found:\n" + "\n".join(problems))
    return out
