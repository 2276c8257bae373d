"""The grader's operations in folders a jailed process can write: through directory file descriptors, never
through a link.

A jailed kernel or model check controls every byte and every name in its folders, and may change them at any
moment while it runs. The grader reaches such a folder by a path whose every part it alone controls (the
folder's parents are the grader's; in the jail the folder is a mount point, which cannot be renamed), and what
lies inside only relative to the folder's descriptor, one name at a time (`dir_fd=`, `O_NOFOLLOW`): a link is
refused, never followed; a file is created with `O_EXCL` (never one that is already there) and handed to the
jail's uid by its descriptor; a read takes a regular file of bounded size (a FIFO would block). Removal holds
two descriptors at most, whatever the depth of the tree (a deep tree costs no recursion), is bounded in time,
and never raises: it says whether the folder is gone.
"""

import errno
import os
import secrets
import stat
import time
from contextlib import suppress
from pathlib import Path

REMOVAL_SECONDS = 120  # the most one removal may take (a kernel can create files faster than anyone removes them)
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class JailedDataError(Exception):
    """A jailed process's folder holds something the grader will not read; the message says what."""


def read_jailed(name, dir_fd, limit):
    """The bytes of `name` in the folder `dir_fd`, written in a jail: a regular file, never what a link points to
    (nor a FIFO, which would block), at most `limit` bytes; JailedDataError otherwise."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as error:
        raise JailedDataError(f"{name} could not be opened ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise JailedDataError(f"{name} is not a regular file")
        if info.st_size > limit:
            raise JailedDataError(f"{name} is {info.st_size} bytes, over the grader's {limit}")
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read(limit + 1)[:limit]
    finally:
        os.close(fd)


class Folder:
    """A folder a jail can write, held open by the grader: `path` (as the jail sees it too: each jailed folder is
    bound at its own path), `fd`, and `owner`, the uid that what the grader creates in it is handed to (the
    jail's, when the grader is root; None otherwise)."""

    def __init__(self, path, fd, owner=None):
        self.path, self.fd, self.owner = str(path), fd, owner

    @classmethod
    def open(cls, path, owner=None):
        """The folder at `path`, a path only the grader controls (never one inside a jailed folder)."""
        return cls(path, os.open(path, _DIRECTORY), owner)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _hand_over(self, fd):
        if self.owner is not None:
            os.fchown(fd, self.owner, self.owner)

    def reset(self, mode):
        """This folder's rights back to `mode`, and to its `owner` (a kernel may have changed its own folder's)."""
        self._hand_over(self.fd)
        os.fchmod(self.fd, mode)

    def make_folder(self, name, mode=0o700):
        """A new folder `name` in this one (FileExistsError if anything has that name), held open: a `Folder`."""
        os.mkdir(name, mode, dir_fd=self.fd)
        fd = os.open(name, _DIRECTORY, dir_fd=self.fd)  # a link put there since is refused (ELOOP)
        try:
            self._hand_over(fd)
            os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            raise
        return Folder(os.path.join(self.path, name), fd, self.owner)

    def write(self, name, data, mode=0o600):
        """A new file `name` in this folder holding `data` (FileExistsError if anything has that name)."""
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=self.fd)
        with os.fdopen(fd, "wb") as file:
            self._hand_over(fd)
            file.write(data.encode() if isinstance(data, str) else data)

    def copy_in(self, source, name, mode=0o644):
        """A copy of the grader's own file `source` as `name` in this folder."""
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=self.fd)
        with os.fdopen(fd, "wb") as target, open(source, "rb") as origin:
            self._hand_over(fd)
            while chunk := origin.read(1 << 20):
                target.write(chunk)

    def copy_tree_in(self, source, name):
        """A copy of the grader's own folder `source` (regular files and folders; links left out) as `name`."""
        todo = [(Path(source), self.make_folder(name))]
        while todo:
            origin, target = todo.pop()
            with target:
                for entry in os.scandir(origin):
                    if entry.is_dir(follow_symlinks=False):
                        todo.append((Path(entry.path), target.make_folder(entry.name)))
                    elif entry.is_file(follow_symlinks=False):
                        target.copy_in(entry.path, entry.name)

    def holds(self, name, folder):
        """True when `name` in this folder is still the `Folder` made as `name` (not moved, removed or replaced)."""
        try:
            entry = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except OSError:
            return False
        made = os.fstat(folder.fd)
        return stat.S_ISDIR(entry.st_mode) and (entry.st_dev, entry.st_ino) == (made.st_dev, made.st_ino)

    def read(self, name, limit):
        """`read_jailed(name, self.fd, limit)`."""
        return read_jailed(name, self.fd, limit)

    def empty(self, seconds=REMOVAL_SECONDS):
        """Remove everything in this folder; True when it is empty. Never raises."""
        return empty_folder(self.fd, seconds)

    def remove(self, name, seconds=REMOVAL_SECONDS):
        """Remove `name` from this folder, a folder with all it holds or anything else; True when it is gone.
        Never raises."""
        return remove_entry(self.fd, name, seconds)


def empty_folder(dir_fd, seconds=REMOVAL_SECONDS):
    """Remove everything in the folder `dir_fd`, at most `seconds` long; True when it is empty. Never raises.

    Each pass removes the files of the folder and of each folder in it, and moves the folders two levels down up
    into this one (`renameat` between two descriptors), so a tree of any depth is flattened as it is removed;
    the pass repeats until the folder is empty, or stops when a pass changed nothing (something the grader
    cannot remove) or the time is up. Works while a jailed process still writes in the folder, without
    following anything it put there."""
    deadline = time.monotonic() + seconds
    try:
        _allow_owner(dir_fd)
        while time.monotonic() < deadline:
            entries = _entries(dir_fd)
            if not entries:
                return True
            changed = False
            for name, is_folder in entries:
                if time.monotonic() > deadline:
                    return False
                changed |= _flatten(dir_fd, name) if is_folder else _unlink(dir_fd, name)
            if not changed:
                return False
        return False
    except (OSError, ValueError, MemoryError):
        return False


def remove_entry(dir_fd, name, seconds=REMOVAL_SECONDS):
    """Remove `name` from the folder `dir_fd` (a folder with all it holds, or anything else), at most `seconds`
    long; True when it is gone. Never raises."""
    try:
        try:
            os.unlink(name, dir_fd=dir_fd)
            return True
        except IsADirectoryError:
            pass
        except FileNotFoundError:
            return True
        try:
            fd = os.open(name, _DIRECTORY, dir_fd=dir_fd)
        except PermissionError:
            _allow(dir_fd, name)
            fd = os.open(name, _DIRECTORY, dir_fd=dir_fd)
        try:
            emptied = empty_folder(fd, seconds)
        finally:
            os.close(fd)
        if emptied:
            os.rmdir(name, dir_fd=dir_fd)
        return emptied
    except (OSError, ValueError, MemoryError):
        return False


def remove_tree(path, seconds=REMOVAL_SECONDS):
    """Remove the grader's folder `path` and everything in it, jailed folders included; True when it is gone.
    Never raises. Only the last part of `path` may be one a jail wrote (a jail's folder itself)."""
    parent, name = os.path.split(os.path.abspath(path))
    try:
        fd = os.open(parent, _DIRECTORY)
    except OSError:
        return not os.path.lexists(path)
    try:
        return remove_entry(fd, name, seconds)
    finally:
        os.close(fd)


def _entries(dir_fd):
    """[(name, is a folder)] of the folder `dir_fd`; links are not folders."""
    with os.scandir(dir_fd) as entries:
        return [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]


def _unlink(dir_fd, name):
    try:
        os.unlink(name, dir_fd=dir_fd)
        return True
    except FileNotFoundError:
        return True
    except OSError:  # it became a folder meanwhile, or cannot be removed: the next pass sees
        return False


def _flatten(top, name):
    """Empty the folder `name` of `top` one level deep: its files removed, its folders moved up into `top`;
    then remove it. True when anything changed."""
    try:
        fd = os.open(name, _DIRECTORY, dir_fd=top)
    except PermissionError:
        return _allow(top, name)
    except OSError as error:
        return error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP) and _unlink(top, name)
    changed = False
    try:
        _allow_owner(fd)
        for child, is_folder in _entries(fd):
            try:
                if is_folder:
                    _move_up(fd, child, top)
                else:
                    os.unlink(child, dir_fd=fd)
                changed = True
            except FileNotFoundError:
                changed = True
            except OSError:
                continue
    finally:
        os.close(fd)
    with suppress(OSError):
        os.rmdir(name, dir_fd=top)
        changed = True
    return changed


def _move_up(fd, child, top):
    """Move the folder `child` of `fd` into `top`, under a fresh name (moving a folder needs the right to change
    it: its `..` changes)."""
    name = f".cnnlab-removed-{secrets.token_hex(8)}"
    try:
        os.rename(child, name, src_dir_fd=fd, dst_dir_fd=top)
    except PermissionError:
        if not _allow(fd, child):
            raise
        os.rename(child, name, src_dir_fd=fd, dst_dir_fd=top)


def _allow_owner(fd):
    """Give the owner of the folder `fd` the right to list and change it, which its jailed owner may have taken
    away (a grader that is not root is that owner; root needs no such right)."""
    if os.geteuid() != 0:
        with suppress(OSError):
            os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) | stat.S_IRWXU)


def _allow(top, name):
    """`_allow_owner` for the folder `name` of `top`, which cannot be opened to read: through an `O_PATH`
    descriptor, so never what a link points to. True when it could be done."""
    try:
        fd = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=top)
    except OSError:
        return False
    try:
        os.chmod(f"/proc/self/fd/{fd}", stat.S_IRWXU)  # the folder itself, whatever its name is by now
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
