"""The grader's reads of what a jailed process wrote: through a folder's file descriptor, never through a link.

A jailed kernel or model check controls every byte and every name in its folders; the grader opens each file
relative to the folder's descriptor with `O_NOFOLLOW` (a link is refused, not followed), takes regular files only
(a FIFO would block), and reads at most a stated number of bytes."""

import os
import stat


class JailedDataError(Exception):
    """A jailed process's folder holds something the grader will not read; the message says what."""


def read_jailed(name, dir_fd, limit):
    """The bytes of `name` in the folder `dir_fd`, written in a jail: a regular file, never what a link points to
    (nor a FIFO, which would block), at most `limit` bytes; JailedDataError otherwise."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
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
