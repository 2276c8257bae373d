"""The student release: the bundle `make release` writes holds no answer, and a hand-in zip grades as it is."""

import csv
import json
import shutil
import zipfile

import nbformat
import pytest
from grading_helpers import LAB, ROOT, answered

from cnnlab import lab, release
from cnnlab.grading.cli import main as grade


def test_bundle_holds_the_labs_docs_readme_wheel_and_sdist(bundle):
    version = release.course(ROOT)["version"]
    files = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    labs = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    assert files == (
        {"README.md", "docs/CONVENTIONS.md", f"dist/cnnlab-{version}-py3-none-any.whl", f"dist/cnnlab-{version}.tar.gz"}
        | {f"labs/{name}/{name}.ipynb" for name in labs}
    )
    readme = (bundle / "README.md").read_text()
    assert "lab2_first_convnet.ipynb, lab2_mnist.keras, lab2_cifar10.keras" in readme
    assert f"{release.course(ROOT)['repository'].replace('github.com', 'colab.research.google.com/github')}" in readme
    with zipfile.ZipFile(bundle / "dist" / f"cnnlab-{version}-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
    assert {
        "cnnlab/data/registry/SHA256SUMS",
        "cnnlab/data/registry/KERAS_SHA256SUMS",
        "cnnlab/lecture/tables.json",
        "cnnlab/lab.py",
    } <= names
    assert release.check_bundle(bundle, ROOT) == []


def test_released_notebooks_install_the_pinned_version_and_end_with_the_hand_in(bundle):
    install = release.course(ROOT)["install"]
    for path in sorted((bundle / "labs").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert repr(install) in nb.cells[0].source and release.course(ROOT)["version"] in install
        assert nb.cells[-1].source.splitlines()[-1].startswith(f"lab.submit({path.stem!r}, STUDENT_ID")
        assert nb.cells[2].source.startswith("**What to hand in.**")


@pytest.mark.parametrize("leak", ["solution_file", "grader_config", "marker", "solution_line", "in_wheel"])
def test_check_bundle_finds_every_kind_of_leak(bundle, tmp_path, leak):
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    solution = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
    if leak == "solution_file":
        shutil.copy(solution, copy / "labs" / "answers.ipynb")
    elif leak == "grader_config":
        shutil.copy(ROOT / "autograder" / "labs" / "lab2_first_convnet.json", copy / "docs" / "checks.json")
    elif leak == "marker":
        (copy / "docs" / "notes.md").write_text("x = 1\n### BEGIN HIDDEN TESTS\nassert x\n")
    elif leak == "solution_line":
        secret = sorted(release._secret_lines(ROOT))[0]
        nb = nbformat.read(copy / "labs" / LAB / f"{LAB}.ipynb", as_version=4)
        nb.cells[-1].source += "\n" + secret
        nbformat.write(nb, copy / "labs" / LAB / f"{LAB}.ipynb")
    else:
        wheel = next((copy / "dist").glob("*.whl"))
        with zipfile.ZipFile(wheel, "a") as zf:
            zf.writestr("solutions/lab1_convolution/lab1_convolution.ipynb", "{}")
    assert release.check_bundle(copy, ROOT), f"the {leak} leak went unnoticed"


def test_a_hand_in_zip_grades_to_full_marks_as_it_is(tmp_path, monkeypatch):
    """lab 1's release answered with the solution, packed by lab.submit, graded by `cnnlab grade` unchanged."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv(lab.GRADING_ENV, raising=False)
    nbformat.write(answered(LAB), work / f"{LAB}.ipynb")
    packed = lab.submit(LAB, "s42")
    assert packed["problems"] == [] and packed["zip"] == work / f"s42_{LAB}.zip"
    out = tmp_path / "out"
    assert grade(["grade", "--lab", LAB, "--submissions", str(packed["zip"]), "--out", str(out)]) == 0
    with open(out / "grades.csv", newline="") as file:
        row = next(csv.DictReader(file))
    points = sum(
        c.metadata["nbgrader"]["points"] for c in answered(LAB).cells if c.metadata.get("nbgrader", {}).get("grade")
    )
    assert (row["student"], row["status"], row["score"]) == ("s42", "graded", f"{points:g}"), row
    assert json.loads(zipfile.ZipFile(packed["zip"]).read(f"s42/{LAB}/{LAB}.ipynb"))["cells"][-1]["source"]
