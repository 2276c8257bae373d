"""nbgrader's metadata of a notebook cell, read defensively: a student's file may hold anything there."""


def nbg(cell):
    """The cell's `metadata.nbgrader` dict; {} when it is missing or not a dict."""
    metadata = cell.get("metadata", {})
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return meta if isinstance(meta, dict) else {}


def manually_graded(cell):
    """True for a cell a person grades: nbgrader's graded answer cell (`grade` and `solution` both set), a written
    answer in Markdown or code graded by reading. The autograder leaves its points to a TA
    (`cnnlab.grading.handgrading`)."""
    meta = nbg(cell)
    return bool(meta.get("grade") and meta.get("solution") and meta.get("grade_id"))


def answer_digest(source):
    """The sha256 of an answer's text, its leading and trailing blank space left out: a TA's grade is kept for the
    answer it was given to, and a resubmission whose answer changed is told apart."""
    import hashlib

    text = source if isinstance(source, str) else "".join(source)
    return hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()
