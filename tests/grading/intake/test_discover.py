"""Intake of plain folders and zips (cnnlab.grading.intake.discover, archive): layouts, missing students, a zip
unpacked safely, shards."""

import zipfile

import nbformat
import pytest
from grading_helpers import (
    LAB,
    TINY,
    released,
    write,
)

from cnnlab.grading.errors import GradingError
from cnnlab.grading.intake import archive as archives
from cnnlab.grading.intake import discover as submissions

# -- submissions: layouts, zip, shards --


def test_discover_reads_folders_flat_files_and_reports_the_missing(tmp_path):
    write(tmp_path / "ann" / LAB / f"{LAB}.ipynb", released())
    write(tmp_path / "ann" / LAB / f"{TINY}.keras", b"model")
    write(tmp_path / "ben" / "notes.txt", b"no notebook")
    write(tmp_path / "cy_lab1_convolution.ipynb", released())
    write(tmp_path / "cy_lab0_tiny.keras", b"model")
    write(tmp_path / "dee" / "a.ipynb", released())
    write(tmp_path / "dee" / "b.ipynb", released())
    write(tmp_path / "readme.txt", b"no student id")
    found, warnings = submissions.discover(tmp_path, LAB, f"{LAB}.ipynb", [TINY])
    by = {s.student: s for s in found}
    assert sorted(by) == ["ann", "ben", "cy", "dee"]
    assert by["ann"].notebook.name == f"{LAB}.ipynb" and list(by["ann"].files) == [f"{TINY}.keras"]
    assert (
        by["cy"].notebook.name == "cy_lab1_convolution.ipynb"
        and by["cy"].files[f"{TINY}.keras"].name == "cy_lab0_tiny.keras"
    )
    assert by["ben"].notebook is None and "no notebook" in by["ben"].missing_reason
    assert by["dee"].notebook is None and "several notebooks" in by["dee"].missing_reason
    assert any("readme.txt" in w for w in warnings)


def test_zip_is_unpacked_safely(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"ann/{LAB}/{LAB}.ipynb", nbformat.writes(released()))
        zf.writestr("../evil.txt", "outside")
        zf.writestr("/abs.txt", "absolute")
    root = archives.unpack(archive, tmp_path / "imported")
    assert (root / "ann" / LAB / f"{LAB}.ipynb").exists()
    assert not (tmp_path / "evil.txt").exists() and not list(root.rglob("abs.txt"))
    assert archives.unpack(archive, tmp_path / "imported") == root  # unpacked once


def test_shards_are_a_deterministic_partition():
    found = [submissions.Submission(f"s{i:03d}", LAB) for i in range(50)]
    slices = [submissions.shard(found, i, 3) for i in range(3)]
    assert sorted(s.student for part in slices for s in part) == [s.student for s in found]
    assert [s.student for s in submissions.shard(found[10:], 1, 3)] == [
        s.student for s in slices[1] if s.student >= "s010"
    ]
    with pytest.raises(GradingError, match="0 <= i < N"):
        submissions.shard(found, 3, 3)
