"""The nbgrader course a batch grades in (`out/.course`): the release of the lab, its gradebook and a snapshot
of it for the workers, and a warm matplotlib cache for the kernels."""

import hashlib
import os
import shutil
import subprocess
import sys

from cnnlab.grading.errors import GradingError
from cnnlab.grading.paths import ROOT


def prepare(options):
    """Set up `out/.course` and the gradebook; returns (released lab folder, gradebook snapshot, source digest)."""
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
        command = [
            sys.executable,
            "-m",
            "cnnlab.grading.course.nbgrader_app",  # `nbgrader`, started faster (no `alembic` on PATH needed)
            "generate_assignment",
            options.lab,
            "--force",
            f"--GenerateAssignmentApp.config_file={ROOT / 'autograder' / 'nbgrader_config.py'}",
            f"--CourseDirectory.root={course_dir}",
            f"--CourseDirectory.db_url=sqlite:///{db}",
            "--log-level=WARN",
        ]
        result = subprocess.run(command, cwd=course_dir, capture_output=True, text=True)
        if result.returncode != 0:
            log_path = course_dir / f"{options.lab}.generate_assignment.log"
            log_path.write_text(result.stdout + result.stderr)
            last = next((line for line in reversed((result.stdout + result.stderr).splitlines()) if line.strip()), "")
            raise GradingError(
                f"nbgrader generate_assignment {options.lab} failed (exit {result.returncode}): "
                f"{last.strip()[:300]}; its whole output is in {log_path}"
            )
        stamp.write_text(digest)
    snapshot = out / ".work" / options.lab / "gradebook-source.db"
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    if not snapshot.exists() or snapshot.stat().st_mtime < stamp.stat().st_mtime:
        shutil.copy(db, snapshot)
    return released, snapshot, digest


def mpl_cache(out):
    """A warm matplotlib cache copied into each scratch folder, so no kernel rebuilds the font list."""
    cache = out / ".work" / "mpl"
    if not (cache / ".complete").exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-c", "import matplotlib.font_manager"],
            capture_output=True,
            env=dict(os.environ, MPLCONFIGDIR=str(cache)),
        )
        (cache / ".complete").touch()
    return cache
