"""Inside the jail: resource limits and a Python audit hook, then the jailed Python module (a kernel server, a model
server).

The grader starts each kernel server (`cnnlab.grading.jail._kernels`) and each model server as
`JAIL... python -m cnnlab.grading.jail._inside --limits JSON -- python -m MODULE ARGS`, where JAIL is bubblewrap's
command line from `cnnlab.grading.jail.bwrap` (own namespaces, unprivileged uid, only its folders visible), or
nothing with `--unsafe-no-sandbox`. Here, before any untrusted code runs:

- `setrlimit` (hard limits, which the code cannot raise again): address space, CPU seconds, processes and
  threads (`RLIMIT_NPROC`: per user namespace, and never applied to root, which is why the jail drops root),
  file size, no core dumps, no POSIX message queue (`RLIMIT_MSGQUEUE` 0: one would outlive its maker in the
  jail's IPC namespace, where the next kernel of a server could read it); `PR_SET_PDEATHSIG`, so the process
  dies with its parent;
- a Python audit hook (PEP 578; it cannot be removed from Python) that refuses `socket.connect`/`getaddrinfo`
  to the network, subprocesses, and opening protected paths or writing outside the writable folders. Native
  code (ctypes, a compiled extension) can step around it; the jail cannot be stepped around that way. In the
  jail it is a second layer that names what was tried; without the jail it is the only one.
"""

import argparse
import ctypes
import json
import os
import resource
import runpy
import signal
import socket
import sys

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the worker's timeout still kills the process group
        pass


def _set_limits(memory_mb, cpu_s, file_mb, processes):
    if memory_mb:
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_s:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    if file_mb:
        limit = file_mb * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))


def _audit_hook(protected, writable, fork_server=False):
    forker = os.getpid() if fork_server else None  # the model server forks its children; they may not fork
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
                raise PermissionError(
                    f"the grader runs notebooks without network: connecting to {address!r} is refused"
                )
        elif event == "socket.getaddrinfo":
            raise PermissionError(f"the grader runs notebooks without network: looking up {args[0]!r} is refused")
        elif event == "os.fork" and os.getpid() == forker:
            return
        elif event in (
            "subprocess.Popen",
            "os.system",
            "os.exec",
            "os.posix_spawn",
            "os.spawn",
            "os.fork",
            "os.forkpty",
        ):
            raise PermissionError(f"the grader runs notebooks without starting programs ({event} refused)")
        elif event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = (args[1] if len(args) > 1 else None), (args[2] if len(args) > 2 else 0)
            writing = (isinstance(mode, str) and any(m in mode for m in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND)
            )
            if not (writing or protected):  # a read with nothing protected (model probes): every path may be read
                return
            path = real(args[0])
            if under(path, protected) and not under(path, writable):
                raise PermissionError(
                    f"{os.fsdecode(args[0])} is the grader's, not the notebook's: opening it is refused"
                )
            if writing and not under(path, writable):
                raise PermissionError(
                    f"the notebook may only write in its working directory: writing {os.fsdecode(args[0])} is refused"
                )
        elif event == "sqlite3.connect" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = real(args[0])
            if path is not None and not under(path, writable) and os.fsdecode(args[0]) != ":memory:":
                raise PermissionError(
                    f"the notebook may only open databases in its working directory: {os.fsdecode(args[0])} is refused"
                )
        elif event in ("os.listdir", "os.scandir") and args and args[0] is not None:
            path = real(args[0] if not isinstance(args[0], int) else ".")
            if under(path, protected) and not under(path, writable):
                raise PermissionError(f"{os.fsdecode(args[0])} is the grader's: listing it is refused")
        elif event in (
            "os.remove",
            "os.rename",
            "os.rmdir",
            "os.mkdir",
            "os.chmod",
            "os.truncate",
            "os.symlink",
            "os.link",
        ):
            # rename, link and symlink: the new name (args[1]) must be inside too; a symlink's target may be anything
            names = (
                args[1:2] if event == "os.symlink" else (args[:2] if event in ("os.rename", "os.link") else args[:1])
            )
            for name in names:
                path = real(name) if isinstance(name, (str, bytes, os.PathLike)) else None
                if path is not None and not under(path, writable):
                    raise PermissionError(
                        f"the notebook may only change files in its working directory: {event} "
                        f"on {os.fsdecode(name)} is refused"
                    )

    sys.addaudithook(hook)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limits",
        required=True,
        help="JSON: memory_mb, cpu_s, file_mb, processes, protected and "
        "writable (paths), fork_server (this process may fork)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- python -m ipykernel_launcher -f FILE")
    args = parser.parse_args(argv)
    limits = json.loads(args.limits)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if command[:2] != [sys.executable, "-m"] or len(command) < 3:
        parser.error(f"expected `-- {sys.executable} -m MODULE ARGS`. Received: {command}")
    _die_with_parent()
    if os.getppid() == 1:  # the worker died before we got here
        sys.exit(1)
    _set_limits(limits.get("memory_mb"), limits.get("cpu_s"), limits.get("file_mb"), limits.get("processes"))
    _audit_hook(limits.get("protected", []), limits.get("writable", []), limits.get("fork_server", False))
    module = command[2]
    sys.argv = [module] + command[3:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
