"""Moodle's "Download all submissions" (an assignment's submissions page, Actions): a zip, per student

    <Full Name>_<participant id>_assignsubmission_file_/<the files as uploaded>   (Moodle 3.1 to 4.0)
    <Full Name>_<participant id>_assignsubmission_file/<the files as uploaded>    (Moodle 4.1 on)
    <Full Name>_<participant id>_assignsubmission_file_<file name>                ("in folders" turned off)

(Moodle's mod/assign: `download_submissions` names each file or folder after the participant; the file feedback
plugin's importziplib.php reads the same name back: the part after the first `_` is the participant id).
The participant id is the assignment's own number for the user (the grading worksheet's "Participant 123456"), the
key Moodle matches uploaded grades and feedback files by. Online text comes as `..._assignsubmission_onlinetext_/`.

The download carries no submission time: the grading worksheet (`--roster`, its "Last modified (submission)"
column) gives it.
"""

import re

from cnnlab.grading.intake.entry import FILES, STUDENT_FOLDER, Entry, Unplaced
from cnnlab.grading.intake.folders import links_note, walk

NAME = "moodle"
ROSTERS = ("moodle", "plain")
SUBMISSION = re.compile(
    r"^(?P<name>.+)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)(?:_(?P<rest>.*))?$", re.S
)
NO_TIME = "none: Moodle's download names no submission time (pass the grading worksheet as --roster)"


def matches(name):
    return bool(SUBMISSION.match(name))


def read(root):
    """(entries, unplaced, warnings): one entry per participant id."""
    entries, unplaced = {}, []
    for item in sorted(root.iterdir()):
        if item.name.startswith("."):
            continue
        match = SUBMISSION.match(item.name)
        if not match:
            unplaced.append(
                Unplaced(item.name, "not named as Moodle names a submission (<name>_<id>_assignsubmission_)")
            )
            continue
        participant = match.group("participant")
        entry = entries.setdefault(
            participant,
            Entry(
                participant,
                name=match.group("name"),
                ids={"moodle_participant_id": participant},
                time_source=NO_TIME,
                base=root,
                scope=STUDENT_FOLDER,
                where=f"the submission of participant {participant}",
            ),
        )
        plugin = match.group("plugin")
        if item.is_symlink():
            entry.links.append(item)
        elif plugin != "file":
            entry.notes.append(f"handed in Moodle {plugin} ({item.name}), which is not graded")
        elif item.is_dir():
            paths, links = walk(item)
            entry.paths += paths
            entry.links += links
            entry.base = item
        else:
            entry.paths.append(item)
            entry.scope = FILES
    for entry in entries.values():
        if entry.links:
            entry.notes.append(links_note(entry.links, root))
    return [entries[p] for p in sorted(entries, key=int)], unplaced, []
