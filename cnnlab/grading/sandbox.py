"""The students' kernel, fenced: resource limits, hidden grader files, no network, death with its parent.

The grader starts each kernel through this launcher (a Jupyter kernelspec whose argv is
`[python, -m, cnnlab.grading.sandbox, --limits JSON, --, python, -m, ipykernel_launcher, -f, {connection_file}]`,
prefixed by `unshare` when that works). Layers, each used when available, strongest first:

1. `unshare -m -n` (root, or `unshare -r -m -n` with unprivileged user namespaces): an empty network
   namespace (only a loopback that is down), and a private mount namespace in which the launcher mounts an
   empty tmpfs over every protected path (the course source with the hidden tests, the gradebook and the
   grader's output, the grader's test data). The kernel talks to the grader over Unix sockets (Jupyter's
   `ipc` transport), which cross namespaces.
2. Always: `setrlimit` (address space, CPU seconds, file size, core dumps), `PR_SET_PDEATHSIG` so the kernel
   dies with the grader's worker, and a Python audit hook (PEP 578; it cannot be removed from Python) that
   refuses `socket.connect`/`getaddrinfo` to the network, subprocesses, and opening protected paths.
   Native code (ctypes, a compiled extension) can step around the audit hook; layer 1 cannot be stepped
   around that way, which is why the grader reports which layers were active.
"""

import argparse
import ctypes
import json
import os
import resource
import runpy
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the worker's timeout still kills the process group
        pass


def _set_limits(memory_mb, cpu_s, file_mb):
    if memory_mb:
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_s:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    if file_mb:
        limit = file_mb * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _own_mount_namespace():
    """True when this process has a mount namespace of its own (started by `unshare -m`), not its parent's."""
    try:
        return os.readlink("/proc/self/ns/mnt") != os.readlink(f"/proc/{os.getppid()}/ns/mnt")
    except OSError:
        return False


def _hide(paths, writable):
    """Mount an empty read-only tmpfs over each path (inside our private mount namespace); returns those hidden.

    A path that holds one of the writable folders (the kernel's own) is left to the audit hook."""
    hidden = []
    mount = shutil.which("mount")
    if mount is None or not _own_mount_namespace():
        return hidden  # never mount anything in the grader's own namespace
    subprocess.run([mount, "--make-rprivate", "/"], capture_output=True)
    for path in paths:
        if any(w == path or w.startswith(path.rstrip(os.sep) + os.sep) for w in writable):
            continue
        if os.path.isdir(path):
            result = subprocess.run([mount, "-t", "tmpfs", "-o", "ro,size=1k", "cnnlab-hidden", path],
                                    capture_output=True)
            if result.returncode == 0:
                hidden.append(path)
    return hidden


def _audit_hook(protected, writable):
    protected = tuple(os.path.realpath(p) for p in protected)
    writable = tuple(os.path.realpath(p) for p in writable) + ("/dev/null",)

    def real(path):
        try:
            return os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return None

    def under(path, roots):
        return path is not None and any(path == r or path.startswith(r + os.sep) for r in roots)

    def hook(event, args):
        if event == "socket.connect":
            sock, address = args[0], args[1]
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                raise PermissionError(f"the grader runs notebooks without network: connecting to {address!r} is refused")
        elif event == "socket.getaddrinfo":
            raise PermissionError(f"the grader runs notebooks without network: looking up {args[0]!r} is refused")
        elif event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty"):
            raise PermissionError(f"the grader runs notebooks without starting programs ({event} refused)")
        elif event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = real(args[0])
            if under(path, protected) and not under(path, writable):
                raise PermissionError(f"{os.fsdecode(args[0])} is the grader's, not the notebook's: opening it is refused")
            mode, flags = (args[1] if len(args) > 1 else None), (args[2] if len(args) > 2 else 0)
            writing = (isinstance(mode, str) and any(m in mode for m in "wax+")) or \
                      (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND))
            if writing and not under(path, writable):
                raise PermissionError(f"the notebook may only write in its working directory: writing "
                                      f"{os.fsdecode(args[0])} is refused")
        elif event == "sqlite3.connect" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = real(args[0])
            if path is not None and not under(path, writable) and os.fsdecode(args[0]) != ":memory:":
                raise PermissionError(f"the notebook may only open databases in its working directory: "
                                      f"{os.fsdecode(args[0])} is refused")
        elif event in ("os.listdir", "os.scandir") and args and args[0] is not None:
            path = real(args[0] if not isinstance(args[0], int) else ".")
            if under(path, protected) and not under(path, writable):
                raise PermissionError(f"{os.fsdecode(args[0])} is the grader's: listing it is refused")
        elif event in ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.truncate", "os.symlink", "os.link"):
            path = real(args[0]) if args and isinstance(args[0], (str, bytes, os.PathLike)) else None
            if path is not None and not under(path, writable):
                raise PermissionError(f"the notebook may only change files in its working directory: {event} "
                                      f"on {os.fsdecode(args[0])} is refused")

    sys.addaudithook(hook)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", required=True, help="JSON: memory_mb, cpu_s, file_mb, protected and writable (paths), hide")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- python -m ipykernel_launcher -f FILE")
    args = parser.parse_args(argv)
    limits = json.loads(args.limits)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if command[:2] != [sys.executable, "-m"] or len(command) < 3:
        parser.error(f"expected `-- {sys.executable} -m MODULE ARGS`. Received: {command}")
    _die_with_parent()
    if os.getppid() == 1:  # the worker died before we got here
        sys.exit(1)
    if limits.get("hide"):
        _hide(limits.get("protected", []), limits.get("writable", []))
    _set_limits(limits.get("memory_mb"), limits.get("cpu_s"), limits.get("file_mb"))
    _audit_hook(limits.get("protected", []), limits.get("writable", []))
    module = command[2]
    sys.argv = [module] + command[3:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
