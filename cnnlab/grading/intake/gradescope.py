"""Gradescope's "Export Submissions" (an assignment's Review Grades page): a zip holding `submission_metadata.yml`
and one folder `submission_<id>/` per submission, with the files as the student uploaded them.

`submission_metadata.yml` maps each folder name to its submission (Ruby symbols as keys, as Gradescope writes it):

    submission_123456:
      :submitters:
      - :name: Jane Doe
        :sid: '2024001'
        :email: jane@example.edu
      :created_at: 2026-03-02 23:41:07.512000000 +01:00
      :score: 10.0

A group submission lists every member: each gets the submission, under their own id. The student's id is the
Gradescope email (lowercased; the SID when there is no email), the submission id and SID are kept; the time is
`:created_at`. Gradescope writes some values with Ruby tags (`!ruby/object:BigDecimal`): read as plain values.
"""

import datetime

from cnnlab.grading.intake.entry import LAB_FOLDER, Entry, Unplaced
from cnnlab.grading.intake.folders import links_note, walk
from cnnlab.grading.intake.ids import student_id

NAME = "gradescope"
ROSTERS = ("gradescope", "plain")
METADATA = "submission_metadata.yml"
SOURCE = "Gradescope's submission_metadata.yml (:created_at)"


def matches(name):
    return name == METADATA or name.startswith("submission_")


def _loader():
    """A safe YAML loader that reads any tag (Ruby's) as the plain value under it."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def plain(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    return Loader


def _time(value):
    """`:created_at` as ISO 8601 with its offset, or None."""
    if isinstance(value, datetime.datetime):
        return value.isoformat() if value.tzinfo else None
    try:
        text = str(value).strip()
        date, clock, offset = text.split(" ")
        clock = clock[:15]  # microseconds at most
        return datetime.datetime.fromisoformat(f"{date}T{clock}{offset}").isoformat()
    except (ValueError, TypeError):
        return None


def read(root):
    """(entries, unplaced, warnings): one entry per submitter of each submission."""
    import yaml

    from cnnlab.grading.errors import GradingError

    path = root / METADATA
    try:
        metadata = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise GradingError(
            f"{path}: not readable as Gradescope's submission metadata ({type(error).__name__}: {error}); "
            f"export the submissions again"
        ) from None
    if not isinstance(metadata, dict):
        raise GradingError(f"{path}: expected a mapping of submission_<id> to submissions. Received: {metadata!r:.80}")
    entries, unplaced, warnings = {}, [], []
    listed = set()
    for folder_name, submission in sorted(metadata.items()):
        listed.add(folder_name)
        submission = submission if isinstance(submission, dict) else {}
        submitters = submission.get(":submitters") or []
        folder = root / str(folder_name)
        submission_id = str(folder_name).removeprefix("submission_")
        if not submitters:
            unplaced.append(Unplaced(str(folder_name), "Gradescope's metadata lists no submitter for it"))
            continue
        if folder.is_symlink() or not folder.is_dir():
            paths, links = [], [folder] if folder.is_symlink() else []
            missing_note = (
                [] if folder.is_symlink() else [f"Gradescope lists {folder_name}, but its folder is not in the export"]
            )
        else:
            (paths, links), missing_note = walk(folder), []
        when = _time(submission.get(":created_at"))
        for person in submitters:
            person = person if isinstance(person, dict) else {}
            email = str(person.get(":email") or "").strip().lower()
            sid = str(person.get(":sid") or "").strip()
            key, problem = student_id(email or sid)
            if not (email or sid) or problem:
                unplaced.append(
                    Unplaced(f"{folder_name}/", f"its submitter {person.get(':name')!r} has no usable email or SID")
                )
                continue
            if key in entries:
                warnings.append(
                    f"{key} submitted in two Gradescope submissions ({entries[key].ids['gradescope_submission_id']} "
                    f"and {submission_id}); the later one is graded"
                )
                if (entries[key].submitted_at or "") > (when or ""):
                    continue
            entries[key] = Entry(
                key,
                name=str(person.get(":name") or ""),
                ids={"gradescope_submission_id": submission_id, "gradescope_email": email, "gradescope_sid": sid},
                submitted_at=when,
                time_source=SOURCE if when else f"none: {METADATA} gives no readable :created_at",
                paths=list(paths),
                links=list(links),
                base=folder,
                scope=LAB_FOLDER,
                where=f"{folder_name}/",
                notes=missing_note + ([links_note(links, folder)] if links else []),
            )
    for item in sorted(root.iterdir()):
        if item.name.startswith(".") or item.name == METADATA or item.name in listed:
            continue
        unplaced.append(Unplaced(item.name, f"not listed in {METADATA}"))
    return [entries[k] for k in sorted(entries)], unplaced, warnings
