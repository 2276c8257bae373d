"""The lab releases the course published: `autograder/releases/<lab>/<version>/<notebook>.ipynb`, one folder per
version, each the released notebook as students got it, its version stamped in its metadata
(`"cnnlab": {"release": 2}`).

`make labs` (autograder/make_labs.py) stamps each release with its version: the latest kept one when the release
is the same (cells and notebook metadata, the stamp aside), else the next number, kept as a new folder. The grader
hands every kept version to the worker, which brings a notebook of an older release to the current one before its
tests run (`cnnlab.grading.worker.restore.bring_forward`).
"""

import json
from pathlib import Path

from cnnlab.grading.paths import ROOT

RELEASES = ROOT / "autograder" / "releases"
KEY = "release"  # nb.metadata["cnnlab"][KEY]: the version of a released notebook


def versions(releases_dir, lab):
    """{version: path of its notebook} of the kept releases of `lab` (oldest first)."""
    folder = Path(releases_dir) / lab
    found = {}
    if folder.is_dir():
        for version in folder.iterdir():
            notebooks = sorted(version.glob("*.ipynb")) if version.name.isdigit() else []
            if notebooks:
                found[int(version.name)] = notebooks[0]
    return dict(sorted(found.items()))


def content(nb):
    """What makes two releases the same: their cells and metadata, the version stamp aside."""
    metadata = json.loads(json.dumps(nb.get("metadata", {})))
    metadata.get("cnnlab", {}).pop(KEY, None)
    if metadata.get("cnnlab") == {}:
        del metadata["cnnlab"]
    cells = [{k: c.get(k) for k in ("id", "cell_type", "source", "metadata")} for c in nb.get("cells", [])]
    return json.dumps({"metadata": metadata, "cells": cells}, sort_keys=True)


def stamp(nb, version):
    nb.metadata.setdefault("cnnlab", {})[KEY] = version


def version_of(releases_dir, lab, nb):
    """The version `nb` (a release of `lab`, stamp or none) is: the latest kept when the same, else the next one."""
    import nbformat

    kept = versions(releases_dir, lab)
    if kept:
        latest = max(kept)
        if content(nbformat.read(kept[latest], as_version=4)) == content(nb):
            return latest, False
        return latest + 1, True
    return 1, True


def keep(releases_dir, lab, notebook_path):
    """Stamp the released notebook at `notebook_path` with its version and keep a new version's copy; returns
    (version, True when it is new)."""
    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    version, new = version_of(releases_dir, lab, nb)
    stamp(nb, version)
    nbformat.write(nb, notebook_path)
    if new:
        target = Path(releases_dir) / lab / str(version) / Path(notebook_path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    return version, new


def for_job(releases_dir, lab):
    """The kept releases as a worker's job lists them: [{"version": n, "path": str}], oldest first."""
    return [{"version": v, "path": str(p)} for v, p in versions(releases_dir, lab).items()]
