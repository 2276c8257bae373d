"""Canvas's "Download Submissions" (an assignment's page, or the Gradebook's column menu): a zip of flat files.

Canvas names each uploaded file (canvas-lms, lib/content_zipper.rb: `get_filename`, `add_upload_submission`,
`sanitize_user_name`)

    <name>[_LATE]_<user id>_<attachment id>_<file name as uploaded>
    doejane_LATE_12345_678901_lab1_convolution.ipynb

where `<name>` is the user's sortable name lowercased with every non-word character removed ("Doe, Jane" ->
`doejane`; runs of `_<digits>_` are squeezed out of it so that the ids can be found) and `LATE` is Canvas's own
late marker (older downloads wrote it without the underscore: `doejaneLATE_12345_...`). The attachment id is the
uploaded file's id (Canvas's re-upload of graded submissions finds the user and the file by these two numbers).
Text entries and URLs come as `<name>[_LATE]_<user id>_text.html` and `_link.html`. A file uploaded again under
the same name is renamed by Canvas with a `-1`, `-2` suffix (`lab1_convolution-1.ipynb`); the download holds the
latest submission only. Under anonymous grading the name and user id are replaced by `anon_<anonymous id>`: such
files name no user and are not placed.

The download carries no submission time: Canvas's LATE marker is the only lateness it gives (the course's late
policy says what it costs, `cnnlab.grading.course.late`).
"""

import re

from cnnlab.grading.intake.entry import FILES, Entry, Unplaced
from cnnlab.grading.intake.folders import links_note

NAME = "canvas"
ROSTERS = ("canvas", "plain")
UPLOAD = re.compile(r"^(?P<name>\w*?)(?P<late>_?LATE)?_(?P<user>\d+)_(?P<attachment>\d+)_(?P<file>.+)$")
TEXT = re.compile(r"^(?P<name>\w*?)(?P<late>_?LATE)?_(?P<user>\d+)_(?P<kind>text|link)\.html$")
ANONYMOUS = re.compile(r"^(?:LATE_)?anon_")  # checked first: an anonymous id may be all digits
NO_TIME = "none: Canvas's download names no submission time (only its LATE marker)"


def matches(name):
    """True when a top-level name of the download is one Canvas writes."""
    return bool(ANONYMOUS.match(name) or TEXT.match(name) or UPLOAD.match(name))


def read(root):
    """(entries, unplaced, warnings): one entry per Canvas user id."""
    entries, unplaced = {}, []
    for item in sorted(root.iterdir()):
        if item.name.startswith("."):
            continue
        upload = UPLOAD.match(item.name)  # first: `_<user>_<attachment>_text.html` is an uploaded text.html
        text = None if upload else TEXT.match(item.name)
        match = upload or text
        if item.is_dir() and not item.is_symlink():
            unplaced.append(Unplaced(f"{item.name}/", "a folder: Canvas's download holds files only"))
            continue
        if ANONYMOUS.match(item.name):
            unplaced.append(
                Unplaced(
                    item.name,
                    "an anonymous Canvas submission names no user: post the grades or reveal the students' "
                    "names in Canvas, then download the submissions again",
                )
            )
            continue
        if not match:
            unplaced.append(Unplaced(item.name, "not named as Canvas names a submission (<name>_<user id>_...)"))
            continue
        user = match.group("user")
        entry = entries.setdefault(
            user,
            Entry(
                user,
                name=match.group("name"),
                ids={"canvas_user_id": user, "canvas_name": match.group("name")},
                time_source=NO_TIME,
                lms_late=False,
                base=root,
                scope=FILES,
                where=f"the files of Canvas user {user}",
            ),
        )
        entry.lms_late = entry.lms_late or bool(match.group("late"))
        if item.is_symlink():
            entry.links.append(item)
        elif upload:
            entry.paths.append(item)
            entry.file_ids[item] = {"canvas_attachment_id": upload.group("attachment")}
        else:
            entry.notes.append(f"handed in a Canvas {match.group('kind')} entry ({item.name}), which is not graded")
    for entry in entries.values():
        if entry.links:
            entry.notes.append(links_note(entry.links, root))
    return [entries[u] for u in sorted(entries, key=int)], unplaced, []
