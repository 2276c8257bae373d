"""nbgrader's metadata of a notebook cell, read defensively: a student's file may hold anything there."""


def nbg(cell):
    """The cell's `metadata.nbgrader` dict; {} when it is missing or not a dict."""
    metadata = cell.get("metadata", {})
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return meta if isinstance(meta, dict) else {}
