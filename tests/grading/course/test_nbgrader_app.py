"""nbgrader started by the grader (`cnnlab.grading.course.nbgrader_app`): the same gradebooks and releases as
nbgrader's own command makes, without its `alembic heads` process."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
from grading_helpers import ROOT

from cnnlab.grading.course import nbgrader_app
from cnnlab.grading.results import gradebook


def _environment():
    """This venv's programs on PATH: nbgrader's own way runs `alembic` by name."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def _revision(db):
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchall()


def test_a_new_gradebook_gets_the_revision_alembic_heads_gives(tmp_path):
    asked = subprocess.run(  # nbgrader's own way, in a fresh process: `alembic heads`
        [sys.executable, "-c", "from nbgrader.api import get_alembic_version; print(get_alembic_version())"],
        capture_output=True,
        text=True,
        env=_environment(),
        check=True,
    ).stdout.strip()
    assert nbgrader_app.alembic_head() == asked
    with gradebook._gradebook(tmp_path / "gradebook.db") as gb:
        gb.update_or_create_student("s1")
    assert _revision(tmp_path / "gradebook.db") == [(asked,)]


def test_generate_assignment_releases_what_nbgrader_releases_and_keeps_the_revision(tmp_path):
    def generate(module, root):
        (root / "solutions").mkdir(parents=True)
        (root / "solutions" / "lab1_convolution").symlink_to(ROOT / "solutions" / "lab1_convolution")
        command = [sys.executable, "-m", module, "generate_assignment", "lab1_convolution", "--force"]
        command += [f"--GenerateAssignmentApp.config_file={ROOT / 'autograder' / 'nbgrader_config.py'}"]
        command += [f"--CourseDirectory.root={root}", f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}"]
        subprocess.run(command, cwd=root, capture_output=True, env=_environment(), check=True)
        return nbformat.read(root / "labs" / "lab1_convolution" / "lab1_convolution.ipynb", as_version=4)

    ours = generate("cnnlab.grading.course.nbgrader_app", tmp_path / "ours")
    theirs = generate("nbgrader", tmp_path / "theirs")
    assert [c.source for c in ours.cells] == [c.source for c in theirs.cells]
    assert _revision(tmp_path / "ours" / "gradebook.db") == _revision(tmp_path / "theirs" / "gradebook.db")
