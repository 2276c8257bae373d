"""Student ids, the one rule: 1 to 64 letters or digits of any script, '.', '_', '-', '@' or '+', normalised to NFC
(an id typed on macOS and on Windows is one id); each id has a `slug`, an ASCII name for its files. An LMS's id
follows it too (a Canvas or Moodle number, a Blackboard username, a Gradescope email). `cnnlab.lab.submit` checks
the id a student types with the same rule."""

import hashlib
import re
import unicodedata

STUDENT_ID = re.compile(r"(?:[^\W_]|[._@+-]){1,64}")
SAFE_SLUG = re.compile(r"[A-Za-z0-9._-]{1,64}")


def student_id(name):
    """(the NFC student id, "") for a folder or file prefix, or (the NFC name, why it is not an id)."""
    normal = unicodedata.normalize("NFC", name)
    if STUDENT_ID.fullmatch(normal) and not normal.startswith("."):
        return normal, ""
    return normal, (
        f"{normal!r} is not a student id: an id is 1 to 64 letters or digits (accents and other "
        f"scripts are fine), '.', '_', '-', '@' or '+', not starting with '.'"
    )


def slug(student):
    """An ASCII folder name for a student id: the id itself when it is ASCII, else a transliteration and a hash."""
    if SAFE_SLUG.fullmatch(student) and not student.startswith("."):
        return student
    folded = unicodedata.normalize("NFKD", student).encode("ascii", "ignore").decode()
    folded = re.sub(r"[^A-Za-z0-9._-]+", "_", folded).strip("._")[:40] or "student"
    return f"{folded}-{hashlib.sha256(student.encode()).hexdigest()[:8]}"
