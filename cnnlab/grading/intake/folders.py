"""Plain folders (`--lms folders`): a folder per student, or flat files whose names start with the student id.

- a folder per student: `DIR/<student>/<lab>/<notebook>.ipynb` plus saved models (`DIR/<student>/*.ipynb` too);
- a flat folder of files whose names start with the student id (`12345_lab1_convolution.ipynb`,
  `12345_lab2_convnet.keras`, the `12345_lab1_convolution.zip` that `lab.submit` writes); the id is what
  `--id-pattern` captures.

The id is the folder's name or the file's prefix (`cnnlab.grading.intake.ids`). Symbolic links are never followed,
at any level: a link to another student's work is not a submission. No submission time: a plain folder holds
copies, whose modification times say when they were copied.
"""

import os
import re
import unicodedata
from pathlib import Path

from cnnlab.grading.intake.entry import FILES, LAB_FOLDER, STUDENT_FOLDER, Entry
from cnnlab.grading.intake.ids import student_id

NAME = "folders"
DEFAULT_ID_PATTERN = r"^((?:[^\W_]|[.-])+)_"
ROSTERS = ("plain",)


def walk(folder):
    """(regular files under `folder`, symbolic links under it), never following a link."""
    files, links = [], []
    for directory, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(directory) / name
            if path.is_symlink():
                links.append(path)
            elif name in filenames and path.is_file():
                files.append(path)
    return sorted(files), sorted(links)


def shown(path, base):
    return str(path.relative_to(base)) if base is not None and path.is_relative_to(base) else path.name


def links_note(links, base):
    listed = ", ".join(f"{shown(p, base)} (to {os.readlink(p)})" for p in links[:5])
    return f"refused symbolic links, which the grader never follows: {listed}" + (" ..." if len(links) > 5 else "")


def refused_note(members):
    return f"refused zip members that are symbolic links, which the grader never follows: {', '.join(members[:5])}" + (
        " ..." if len(members) > 5 else ""
    )


def read(root, lab, id_pattern=DEFAULT_ID_PATTERN, refused_members=()):
    """(entries, unplaced, warnings) of a folder in this layout; one entry per student id."""
    from cnnlab.grading.intake.entry import Unplaced

    root = Path(root)
    pattern = re.compile(id_pattern)
    entries, flat, flat_links, zip_links, unplaced, warnings = {}, {}, {}, {}, [], []

    def rejected(name, reason):
        student, _ = student_id(name)
        entries.setdefault(student, Entry(student, base=root, where=name, problem=reason))

    for item in sorted(root.iterdir()):
        if item.name.startswith("."):
            continue
        if item.is_symlink():
            match = pattern.match(unicodedata.normalize("NFC", item.name))
            if item.is_dir():
                rejected(
                    item.name,
                    f"{item.name} is a symbolic link (to {os.readlink(item)}), not a folder of the "
                    f"student's own; the grader never follows links",
                )
            elif match:
                flat_links.setdefault(student_id(match.group(1))[0], []).append(item)
            else:
                unplaced.append(Unplaced(item.name, "refused: a symbolic link, and its name starts with no student id"))
            continue
        if item.is_dir():
            student, problem = student_id(item.name)
            if problem:
                rejected(item.name, problem)
                continue
            if student in entries:
                entries[student].notes.append(f"another folder with the same id was left out: {item.name!r}")
                continue
            lab_dir = item / lab
            linked = [lab_dir] if lab_dir.is_symlink() else []
            if linked or not lab_dir.is_dir():
                lab_dir = item
            paths, links = walk(lab_dir)
            links = sorted(set(linked + links))
            refusals = [links_note(links, item)] if links else []
            members = [m for m in refused_members if Path(m).parts[0] == item.name]
            if members:
                refusals.append(refused_note(members))
            entries[student] = Entry(
                student,
                paths=paths,
                links=links,
                refused_members=members,
                base=lab_dir,
                scope=LAB_FOLDER if lab_dir != item else STUDENT_FOLDER,
                where=f"{item.name}/{lab_dir.relative_to(item) if lab_dir != item else ''}",
                notes=refusals,
            )
        elif item.is_file():
            match = pattern.match(unicodedata.normalize("NFC", item.name))
            if not match:
                unplaced.append(
                    Unplaced(item.name, f"its name does not start with a student id (--id-pattern {id_pattern})")
                )
                continue
            student, problem = student_id(match.group(1))
            if problem:
                rejected(match.group(1), problem)
                continue
            flat.setdefault(student, []).append(item)
    for member in refused_members:  # flat files that were links in the zip
        match = pattern.match(unicodedata.normalize("NFC", Path(member).name)) if len(Path(member).parts) == 1 else None
        if match:
            zip_links.setdefault(student_id(match.group(1))[0], []).append(member)
        elif len(Path(member).parts) == 1:
            unplaced.append(Unplaced(member, "refused zip member: a symbolic link, and its name starts with no id"))
    for student in sorted(set(flat) | set(flat_links) | set(zip_links)):
        paths = flat.get(student, [])
        if student in entries:
            if paths:
                warnings.append(f"{student} has a folder and flat files; the folder is graded")
            continue
        refusals = [links_note(flat_links[student], root)] if student in flat_links else []
        if student in zip_links:
            refusals.append(refused_note(zip_links[student]))
        entries[student] = Entry(
            student,
            paths=paths,
            links=flat_links.get(student, []),
            refused_members=zip_links.get(student, []),
            base=root,
            scope=FILES,
            where=f"the files of {student}",
            notes=refusals,
        )
    return [entries[s] for s in sorted(entries)], unplaced, warnings
