"""Restore the instructors' cells of a submitted notebook (step 2 of a worker, after `read`).

A notebook of an older release of the lab is first brought to the current release (`bring_forward`, from the
releases the course kept: `cnnlab.grading.course.releases`). Then its graded and locked cells are compared with
the release (edited, deleted, duplicated: status tampered; another lab's notebook: `read.Rejected`); graded cells
of another lab are removed (with a note); nbgrader's DeduplicateIds, OverwriteCells (add_missing_cells) and
CheckCellMetadata put the instructors' cells back, hidden tests included, from the gradebook snapshot.
"""

import copy
from pathlib import Path

from cnnlab.grading.cells import nbg
from cnnlab.grading.worker.read import Rejected


def check_structure(nb, released, result, notebook_name):
    """Compare graded/locked cells with the release; notes tampering in `result` (a `GradingResult`)."""
    lab = result.lab
    expected = {nbg(c)["grade_id"]: c for c in released.cells if nbg(c).get("grade_id")}
    seen = {}
    for cell in nb.cells:
        grade_id = nbg(cell).get("grade_id")
        if grade_id:
            seen.setdefault(grade_id, []).append(cell)
    if not set(seen) & set(expected):
        others = ", ".join(sorted(seen)[:4]) or "none"
        raise Rejected(
            f"this is not a {lab} notebook: none of its graded cells ({others}) belongs to "
            f"{lab}; submit {notebook_name} from the {lab} release"
        )
    unknown = sorted(set(seen) - set(expected))
    if unknown:  # nbgrader's CheckCellMetadata fails on a grade_id the gradebook lacks
        nb.cells = [c for c in nb.cells if not (nbg(c).get("grade_id") in unknown and nbg(c).get("grade"))]
        for cell in nb.cells:
            if nbg(cell).get("grade_id") in unknown:
                del cell.metadata["nbgrader"]  # an answer or text cell of another lab: kept, as ordinary code
        result.note(
            f"cells of no {lab} test or answer were found ({', '.join(unknown)}; "
            f"copied from another lab?): the grader removed their tests and graded the rest"
        )
    from nbgrader.utils import compute_checksum

    edited = []
    for grade_id, cell in expected.items():
        if grade_id not in seen or not nbg(cell).get("locked") or nbg(cell).get("solution"):
            continue
        mine = copy.deepcopy(seen[grade_id][0])
        mine.metadata.nbgrader = copy.deepcopy(cell.metadata.nbgrader)  # compare the text, not the metadata
        if mine.cell_type != cell.cell_type or compute_checksum(mine) != nbg(cell)["checksum"]:
            edited.append(grade_id)
    missing = [g for g in expected if g not in seen and nbg(expected[g]).get("locked")]
    unanswered = [g for g in expected if g not in seen and not nbg(expected[g]).get("locked")]
    if unanswered:
        result.note(f"answer cells are missing ({', '.join(unanswered)}), so their tests fail")
    duplicated = [g for g, cells in seen.items() if len(cells) > 1 and g in expected]
    if edited:
        result.note(
            f"read-only cells were edited ({', '.join(edited)}); the grader put the instructors' versions "
            f"back before running them",
            "tampered",
        )
    if missing:
        result.note(f"cells were deleted ({', '.join(missing)}); the grader put them back", "tampered")
    if duplicated:
        result.note(f"cells appear more than once ({', '.join(duplicated)}); only the first copy counts", "tampered")


def sanitize(nb, lab, notebook_name, gradebook):
    """nbgrader's sanitizing preprocessors, with the gradebook snapshot: restores the instructors' cells."""
    from nbconvert.exporters.exporter import ResourcesDict
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells
    from traitlets.config import Config

    config = Config()
    config.OverwriteCells.add_missing_cells = True
    resources = ResourcesDict(
        nbgrader={"notebook": Path(notebook_name).stem, "assignment": lab, "db_url": f"sqlite:///{gradebook}"}
    )
    for preprocessor in (ClearOutput, DeduplicateIds, OverwriteCells, CheckCellMetadata):
        nb, resources = preprocessor(config=config).preprocess(nb, resources)
        for cell in nb.cells:  # DeduplicateIds leaves `nbgrader: {}` on the copies, which later steps reject
            if cell.get("metadata", {}).get("nbgrader") == {}:
                del cell.metadata["nbgrader"]
    return nb


# -- a notebook of an older release of the lab, brought to the current one (before `check_structure`) --


def load_versions(releases):
    """{version: notebook} of the releases a job lists ([{"version": n, "path": ...}], `course.releases.for_job`)."""
    import nbformat

    return {r["version"]: nbformat.read(r["path"], as_version=4) for r in releases}


def _answer(cell):
    return bool(nbg(cell).get("solution"))


def _label(cell, index=None):
    grade_id = nbg(cell).get("grade_id")
    if grade_id:
        return grade_id
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"{cell.cell_type} cell {first[:40]!r}" if index is None else f"cell {index + 1} ({first[:40]!r})"


def release_of(nb, versions):
    """(the version `nb` was released as, how it was told): its stamp when it names a kept version, else the
    version sharing the most of the instructors' cells with it (the latest on a tie)."""
    cnnlab = nb.metadata.get("cnnlab") if isinstance(nb.metadata, dict) else None
    stamp = cnnlab.get("release") if isinstance(cnnlab, dict) else None
    if isinstance(stamp, int) and stamp in versions:
        return stamp, "its release stamp"
    sources = {c.source for c in nb.cells if isinstance(c.get("source"), str)}

    def shared(version):
        return sum(1 for c in versions[version].cells if not _answer(c) and c.source in sources)

    return max(versions, key=lambda v: (shared(v), v)), "its cells"


def merge3(base, mine, theirs):
    """`mine` with the changes from `base` to `theirs` applied, line by line; None when a change touches lines
    `mine` changed too (the student edited what the course changed)."""
    from difflib import SequenceMatcher

    b, m, t = base.split("\n"), mine.split("\n"), theirs.split("\n")
    kept = {}  # a line of base -> the same line's index in mine
    for tag, i1, i2, j1, _ in SequenceMatcher(None, b, m, autojunk=False).get_opcodes():
        if tag == "equal":
            kept.update({i1 + k: j1 + k for k in range(i2 - i1)})
    edits = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, b, t, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i1 < i2:  # base lines replaced or deleted: all still in mine, in one run
            if any(k not in kept for k in range(i1, i2)) or kept[i2 - 1] - kept[i1] != i2 - 1 - i1:
                return None
            start, end = kept[i1], kept[i2 - 1] + 1
        elif i1 == 0:  # lines added at the top
            start = end = 0
        elif i1 - 1 in kept and (i1 == len(b) or kept.get(i1) == kept[i1 - 1] + 1):  # added between two kept lines
            start = end = kept[i1 - 1] + 1
        else:
            return None
        edits.append((start, end, t[j1:j2]))
    for start, end, lines in reversed(edits):
        m[start:end] = lines
    return "\n".join(m)


def bring_forward(nb, versions, result):
    """Bring a notebook of an older release to the current one (the latest of `versions`): each instructors' cell
    the student left as released (imports, set-up, helpers, tests, text) becomes the current release's; one they
    edited gets the course's change merged in when it touches no line they changed (a read-only cell is restored by
    nbgrader anyway); a cell the current release added is inserted where the release has it. Returns what was done
    (also `result.release`), with notes on `result`: a change the grader could not bring is the course's, and the
    note says so."""
    if not versions:
        return None
    current = max(versions)
    version, how = release_of(nb, versions)
    record = {
        "version": version,
        "current": current,
        "told_by": how,
        "brought": [],
        "merged": [],
        "added": [],
        "kept": [],
    }
    result.release = record
    if version == current:
        return record
    old, new = versions[version], versions[current]
    old_by_id = {c.get("id"): c for c in old.cells if c.get("id") and not _answer(c)}
    new_by_id = {c.get("id"): c for c in new.cells if c.get("id")}
    by_source = {}
    for cell in old.cells:
        if not _answer(cell):
            by_source.setdefault(cell.source, []).append(cell)
    matched, used = {}, set()
    for index, cell in enumerate(nb.cells):
        if not isinstance(cell.get("source"), str):
            continue
        match = old_by_id.get(cell.get("id"))
        if match is None or id(match) in used:
            match = next((c for c in by_source.get(cell.source, []) if id(c) not in used), None)
        if match is not None:
            matched[index] = match
            used.add(id(match))
    for index, was in matched.items():
        now = new_by_id.get(was.get("id"))
        if now is None or (now.source == was.source and now.cell_type == was.cell_type):
            continue
        cell = nb.cells[index]
        if cell.source == was.source:
            nb.cells[index] = copy.deepcopy(now)
            record["brought"].append(_label(now))
        elif nbg(was).get("locked") or now.cell_type != cell.cell_type:
            continue  # a read-only cell the student edited: nbgrader restores it (check_structure says so)
        elif (merged := merge3(was.source, cell.source, now.source)) is not None:
            cell.source = merged
            record["merged"].append(_label(now))
        else:
            record["kept"].append(_label(now, index))
    position = {}
    for index, cell in enumerate(nb.cells):
        key = matched[index].get("id") if index in matched else cell.get("id")
        position.setdefault(key, index)
    inserts, last = [], -1
    for cell in new.cells:
        key = cell.get("id")
        if key is None:
            continue
        if key in position:
            last = position[key]
        elif not any(key == c.get("id") for c in old.cells):
            inserts.append((last + 1, copy.deepcopy(cell)))
            record["added"].append(_label(cell) + (" (a task added since)" if _answer(cell) else ""))
    for at, cell in reversed(inserts):
        nb.cells.insert(at, cell)
    lab = result.lab
    done = record["brought"] + record["merged"] + record["added"]
    if done:
        result.note(
            f"your notebook is from release {version} of {lab} and the course's is {current}: the grader brought "
            f"the course's cells to release {current} ({', '.join(done)})"
        )
    if record["kept"]:
        result.note(
            f"the course changed cells you had edited since release {version} ({', '.join(record['kept'])}); "
            f"your versions were kept, so a test that fails from the course's change fails for the course, "
            f"not for your code: tell your instructors"
        )
    return record


def explain_failures(graded, record):
    """After scoring: a failed test whose message names an undefined name, in a notebook whose course changes could
    not all be brought, says that the name may be the course's change."""
    if not record or not (record["kept"] or any("task added" in a for a in record["added"])):
        return
    for entry in graded.values():
        message = entry.get("message", "")
        if entry.get("state") != "passed" and "NameError" in message:
            entry["message"] = (
                f"{message} (your notebook is from release {record['version']} of this lab and the course's cells "
                f"you had edited changed since: this name may be the course's change, not a mistake in your code)"
            )
