"""Find each student's notebook and files for a lab, in any of the layouts instructors download.

- a folder per student: `DIR/<student>/<lab>/<notebook>.ipynb` plus saved models (`DIR/<student>/*.ipynb` too);
- a flat folder of files whose names start with the student id (`12345_lab1_convolution.ipynb`,
  `12345_lab2_convnet.keras`), as LMS downloads are; the id is what `--id-pattern` captures;
- either of them as a zip archive, unpacked safely (no absolute paths, no `..`, no links, size capped).
"""

import hashlib
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ID_PATTERN = r"^([A-Za-z0-9.-]+)_"
STUDENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_ZIP_BYTES = 4 * 2**30


@dataclass
class Submission:
    student: str
    lab: str
    notebook: Path | None = None
    files: dict = field(default_factory=dict)  # name in the scratch folder -> path
    missing_reason: str = ""
    directory: Path | None = None


def unpack(archive, target):
    """Unpack a zip into `target` (once per archive content); refuses unsafe names and zip bombs."""
    digest = hashlib.sha256(Path(archive).read_bytes()).hexdigest()[:16]
    target = Path(target) / digest
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        total = sum(info.file_size for info in zf.infolist())
        if total > MAX_ZIP_BYTES:
            raise ValueError(f"{archive}: unpacks to {total / 2**30:.1f} GB, over the grader's "
                             f"{MAX_ZIP_BYTES / 2**30:.0f} GB; unpack it yourself and pass the folder")
        for info in zf.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts or stat.S_ISLNK(info.external_attr >> 16):
                print(f"warning: {archive}: skipped unsafe entry {info.filename!r}")
                continue
            if info.is_dir() or name.name.startswith(".") or "__MACOSX" in name.parts:
                continue
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
    (target / ".complete").touch()
    return target


def _pick_notebook(notebooks, notebook_name, where):
    named = [p for p in notebooks if p.name == notebook_name or p.name.endswith("_" + notebook_name)]
    if len(named) >= 1:
        return sorted(named)[-1], ""
    if len(notebooks) == 1:
        return notebooks[0], ""
    if not notebooks:
        return None, f"no notebook for this lab in {where}"
    names = ", ".join(sorted(p.name for p in notebooks))
    return None, f"several notebooks in {where} and none named {notebook_name}: {names}; the grader cannot tell which to grade"


def _model_files(paths, model_names):
    files = {}
    for name in model_names:
        wanted = f"{name}.keras"
        found = [p for p in paths if p.name == wanted or p.name.endswith("_" + wanted)]
        if found:
            files[wanted] = sorted(found)[-1]
    return files


def discover(root, lab, notebook_name, model_names, id_pattern=DEFAULT_ID_PATTERN):
    """Submissions of one lab under `root` (a folder): one per student, including students with nothing for it."""
    root = Path(root)
    pattern = re.compile(id_pattern)
    by_student, flat, warnings = {}, {}, []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            student = entry.name
            if not STUDENT_ID.fullmatch(student):
                warnings.append(f"skipped folder {entry.name!r}: a student id is letters, digits, '.', '_' or '-'")
                continue
            lab_dir = entry / lab if (entry / lab).is_dir() else entry
            paths = [p for p in lab_dir.rglob("*") if p.is_file() and not p.is_symlink()]
            notebooks = [p for p in paths if p.suffix == ".ipynb" and ".ipynb_checkpoints" not in p.parts]
            if lab_dir == entry:  # a student folder without a lab folder: only notebooks that look like this lab
                notebooks = [p for p in notebooks if lab in p.name] or notebooks
            notebook, reason = _pick_notebook(notebooks, notebook_name, f"{entry.name}/{lab_dir.relative_to(entry) if lab_dir != entry else ''}")
            by_student[student] = Submission(student, lab, notebook, _model_files(paths, model_names), reason, lab_dir)
        elif entry.is_file():
            match = pattern.match(entry.name)
            if not match or not STUDENT_ID.fullmatch(match.group(1)):
                warnings.append(f"skipped {entry.name!r}: its name does not start with a student id (--id-pattern {id_pattern})")
                continue
            flat.setdefault(match.group(1), []).append(entry)
    for student, paths in flat.items():
        if student in by_student:
            warnings.append(f"{student} has a folder and flat files; the folder is graded")
            continue
        notebooks = [p for p in paths if p.suffix == ".ipynb" and (lab in p.name or len(paths) == 1)]
        notebook, reason = _pick_notebook(notebooks, notebook_name, f"the files of {student}")
        by_student[student] = Submission(student, lab, notebook, _model_files(paths, model_names), reason, root)
    submissions = [by_student[student] for student in sorted(by_student)]
    for submission in submissions:
        if submission.notebook is None and not submission.missing_reason:
            submission.missing_reason = f"no notebook for {lab}"
    return submissions, warnings


def shard(submissions, index, count):
    """The deterministic slice `index` of `count`: by a hash of the student id, so it does not depend on the others."""
    if not 0 <= index < count:
        raise ValueError(f"--shard i/N needs 0 <= i < N. Received: {index}/{count}")
    return [s for s in submissions if int(hashlib.sha256(s.student.encode()).hexdigest(), 16) % count == index]
