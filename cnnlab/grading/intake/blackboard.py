"""Blackboard Learn's "Download Assignment" (Grade Center, the assignment column's menu): a zip of flat files,

    <Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file name as uploaded>
    <Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt          (the attempt's receipt)

e.g. `Lab 1_jdoe_attempt_2026-03-02-23-41-07_lab1_convolution.ipynb`. The receipt starts with `Name: Jane Doe
(jdoe)`, then `Assignment:`, `Date Submitted:`, the student's comments and the files (`Original filename:`,
`Filename:`). The username is read from the receipts when there are some (an assignment name or a username may
hold `_`), else as the part before `_attempt_`. The attempt's time is in the name, in the server's time zone (the
course's `time_zone`). With "all attempts" downloaded, the latest attempt of each student is graded and the others
are named in the notes.
"""

import datetime
import re

from cnnlab.grading.intake.entry import FILES, Entry, Unplaced
from cnnlab.grading.intake.folders import links_note

NAME = "blackboard"
ROSTERS = ("blackboard", "plain")
ATTEMPT = re.compile(r"^(?P<prefix>.+)_attempt_(?P<stamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file>.+)|\.txt)$", re.S)
RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.*?)\s*\((?P<user>[^()\s]+)\)\s*$", re.M)


def matches(name):
    return bool(ATTEMPT.match(name))


def _username(prefix, known):
    """The username at the end of `<Assignment>_<username>`: the longest known one, else the last `_` part."""
    for user in sorted(known, key=len, reverse=True):
        if prefix.endswith(f"_{user}"):
            return user
    return prefix.rsplit("_", 1)[-1]


def read(root, time_zone=None):
    """(entries, unplaced, warnings): one entry per username, its latest attempt's files."""
    items = [p for p in sorted(root.iterdir()) if not p.name.startswith(".")]
    names = {}
    for item in items:
        match = ATTEMPT.match(item.name)
        if match and match.group("file") is None and item.is_file() and not item.is_symlink():
            receipt = RECEIPT_NAME.search(item.read_text(encoding="utf-8", errors="replace"))
            if receipt:
                names[receipt.group("user")] = receipt.group("name")
    attempts, unplaced = {}, []
    for item in items:
        match = ATTEMPT.match(item.name)
        if not match or item.is_dir():
            unplaced.append(Unplaced(item.name, "not named as Blackboard names an attempt (<name>_attempt_<time>)"))
            continue
        user = _username(match.group("prefix"), names)
        attempts.setdefault(user, {}).setdefault(match.group("stamp"), []).append((item, match.group("file")))
    entries = []
    for user in sorted(attempts):
        stamps = sorted(attempts[user])
        latest = stamps[-1]
        when = datetime.datetime.strptime(latest, "%Y-%m-%d-%H-%M-%S")
        if time_zone is not None:
            when = when.replace(tzinfo=time_zone)
        entry = Entry(
            user,
            name=names.get(user, ""),
            ids={"blackboard_username": user, "blackboard_attempt": latest},
            submitted_at=when.isoformat() if time_zone is not None else None,
            time_source=(
                "Blackboard's file name (the attempt's time, in the course's time zone)"
                if time_zone is not None
                else "none: Blackboard's file names give the server's local time; set the course's time_zone"
            ),
            base=root,
            scope=FILES,
            where=f"the attempt {latest} of {user}",
        )
        for item, original in attempts[user][latest]:
            if item.is_symlink():
                entry.links.append(item)
            elif original is not None:
                entry.paths.append(item)
        if entry.links:
            entry.notes.append(links_note(entry.links, root))
        if len(stamps) > 1:
            entry.notes.append(f"graded the latest attempt ({latest}); left out the older {', '.join(stamps[:-1])}")
        entries.append(entry)
    return entries, unplaced, []
