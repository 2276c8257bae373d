"""The grader's operations in jailed folders (cnnlab.grading.jail.files): through descriptors, never through a link,
removal of any depth without recursion, never raising."""

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from grading_helpers import ROOT

from cnnlab.grading.jail.files import Folder, empty_folder, remove_tree

DEPTH = 5000  # far deeper than Python's recursion limit: shutil.rmtree (3.11) raises RecursionError here


def deep_tree(top, depth=DEPTH):
    """A chain of `depth` folders under `top`, with a file at every level (made relative to each level: the
    path as a whole is longer than the system allows)."""
    os.makedirs(top, exist_ok=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for level in range(depth):
        os.mkdir("d", dir_fd=fd)
        os.close(os.open(f"f{level}", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
        below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = below
    os.close(fd)


def test_a_tree_of_any_depth_is_removed_without_recursion(tmp_path):
    deep_tree(tmp_path / "kernel")
    with Folder.open(tmp_path / "kernel") as folder:
        assert folder.empty()
        assert os.listdir(folder.path) == []
    deep_tree(tmp_path / "kernel")
    assert remove_tree(tmp_path / "kernel")
    assert not (tmp_path / "kernel").exists()


def test_links_are_removed_never_followed(tmp_path):
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "keep.txt").write_text("the grader's")
    kernel = tmp_path / "kernel"
    (kernel / "a").mkdir(parents=True)
    (kernel / "a" / "link").symlink_to(outside, target_is_directory=True)
    (kernel / "top-link").symlink_to(outside / "sub")
    os.mkfifo(kernel / "a" / "fifo")
    with Folder.open(kernel) as folder:
        assert folder.remove("a") and folder.remove("top-link")
        assert os.listdir(kernel) == []
    assert (outside / "sub" / "keep.txt").read_text() == "the grader's"


def test_what_the_grader_makes_never_goes_through_a_link_or_over_a_file(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    kernel = tmp_path / "kernel"
    kernel.mkdir()
    (kernel / "probe.py").symlink_to(outside / "probe.py")
    (kernel / "probe-folder").symlink_to(outside, target_is_directory=True)
    (kernel / "records.json").write_text("the kernel's")
    with Folder.open(kernel) as folder:
        for make in (
            lambda: folder.write("probe.py", "code"),
            lambda: folder.make_folder("probe-folder"),
            lambda: folder.copy_in(__file__, "records.json"),
        ):
            with pytest.raises(FileExistsError):
                make()
        made = folder.make_folder("mine")
        made.write("probe.py", "code")
        assert folder.holds("mine", made)
        os.rename(kernel / "mine", kernel / "moved")
        (kernel / "mine").symlink_to(kernel / "moved", target_is_directory=True)
        assert not folder.holds("mine", made)  # moved, a link in its place
        made.write("records.json", "still into the folder the grader made")
        made.close()
    assert os.listdir(outside) == []
    assert (kernel / "moved" / "records.json").exists()
    with pytest.raises(OSError):
        Folder.open(kernel / "mine")  # a link is never opened as a folder


def test_removal_while_a_process_keeps_writing_is_bounded_and_never_raises(tmp_path):
    kernel = tmp_path / "kernel"
    kernel.mkdir()
    stop = threading.Event()

    def keep_writing():
        level = kernel
        while not stop.is_set():
            try:
                level = level / "d"
                level.mkdir()
            except OSError:
                level = kernel

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        started = time.monotonic()
        with Folder.open(kernel) as folder:
            emptied = folder.empty(seconds=1)
        assert time.monotonic() - started < 10
        assert emptied in (True, False)
    finally:
        stop.set()
        writer.join()
    with Folder.open(kernel) as folder:
        assert folder.empty()  # once nothing writes, it empties


def test_a_missing_or_unopenable_folder_is_a_false_not_an_exception(tmp_path):
    assert remove_tree(tmp_path / "never-made")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.close(fd)
    assert empty_folder(fd) is False  # a closed descriptor


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the same removal as a plain user, which needs root to set up")
def test_a_plain_user_grader_removes_folders_the_kernel_locked():
    """A grader that is not root owns the kernel's files (the same uid): the kernel can take away its rights to
    list or change a folder; the grader gives them back to itself, without following links."""
    tmp_path = Path(tempfile.mkdtemp(prefix="cnnlab-files-"))  # (pytest's folder is root's alone)
    (tmp_path / "kernel").mkdir()
    tmp_path.chmod(0o755)
    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from cnnlab.grading.jail.files import Folder, remove_tree
kernel = {str(tmp_path / "kernel")!r}
for path in ("a/b/c", "locked/inner"):
    os.makedirs(os.path.join(kernel, path))
    open(os.path.join(kernel, path, "f"), "w").close()
os.chmod(os.path.join(kernel, "locked", "inner"), 0)
os.chmod(os.path.join(kernel, "locked"), 0)
os.chmod(os.path.join(kernel, "a", "b"), 0o500)
os.chmod(kernel, 0o500)
with Folder.open(kernel) as folder:
    print(folder.empty(), os.listdir(kernel))
print(remove_tree(kernel), os.path.exists(kernel))
"""
    os.chown(tmp_path / "kernel", 65534, 65534)
    os.chown(tmp_path, 65534, 65534)
    done = subprocess.run(
        ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["True []", "True False"]
    assert remove_tree(tmp_path)
