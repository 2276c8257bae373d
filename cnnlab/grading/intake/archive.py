"""A zip of submissions unpacked safely: no absolute paths, no `..`, no links, size capped; member times kept."""

import hashlib
import json
import os
import shutil
import stat
import time
import zipfile
from pathlib import Path

from cnnlab.grading.errors import GradingError

MAX_ZIP_BYTES = 4 * 2**30
REFUSED = ".refused.json"  # the links `unpack` left out of a zip, read by `discover`
SKIPPED = ".skipped.json"  # the members with an absolute path or `..` it left out, reported by `discover`
MAX_MEMBERS = 100_000


def unpack(archive, target):
    """Unpack a zip into `target` (once per archive content); refuses unsafe names, links and zip bombs.

    Member times become the files' modification times (they decide which of two notebooks is newer). Refused
    members are listed in `REFUSED`, so that `discover` gives their student a row that says why, and unsafe names
    in `SKIPPED`. The same limits hold for a zip inside a student's files (`discover` opens those too).
    """
    digest = hashlib.sha256(Path(archive).read_bytes()).hexdigest()[:16]
    target = Path(target) / digest
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    refused, skipped = [], []
    with zipfile.ZipFile(archive) as zf:
        if len(zf.infolist()) > MAX_MEMBERS:
            raise GradingError(
                f"{Path(archive).name}: {len(zf.infolist())} members, over the grader's {MAX_MEMBERS}; "
                f"unpack it yourself and pass the folder"
            )
        total = sum(info.file_size for info in zf.infolist())
        if total > MAX_ZIP_BYTES:
            raise GradingError(
                f"{Path(archive).name}: unpacks to {total / 2**30:.1f} GB, over the grader's "
                f"{MAX_ZIP_BYTES / 2**30:.0f} GB; unpack it yourself and pass the folder"
            )
        for info in zf.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts:
                skipped.append(info.filename)
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                refused.append(info.filename)
                (target / name).parent.mkdir(parents=True, exist_ok=True)  # its student gets a row
                continue
            if info.is_dir() or name.name.startswith(".") or "__MACOSX" in name.parts:
                continue
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
            stamp = time.mktime(info.date_time + (0, 0, -1))
            os.utime(destination, (stamp, stamp))
    (target / REFUSED).write_text(json.dumps(refused))
    (target / SKIPPED).write_text(json.dumps(skipped))
    (target / ".complete").touch()
    return target
