"""Inside a jail: the kernel server. It imports the lab's libraries once, then forks a fresh Jupyter kernel for
each submission, one at a time.

`python -m cnnlab.grading.jail._kernels MODULES_JSON` (started by `cnnlab.grading.jail.kernels` through the jail
and `cnnlab.grading.jail._inside`, in the kernels' folder, with the kernels' environment). Messages on stdin and
stdout are frames (`cnnlab.grading.jail.frames`), one request at a time:

- the server sends `{"ready": seconds, "failed": [modules it could not import]}` once it imported MODULES_JSON;
- `{"start": CONNECTION_FILE}`: it forks a kernel that reads that file and binds its sockets, and answers
  `{"started": true}` at once;
- `{"wait": seconds}`: `{"bound": true}` once that kernel's sockets are bound (before it runs anything it is
  sent), `{"exit": code}` if it ended first, `{"bound": false}` after `seconds`;
- `{"poll": true}`: `{"exit": null}` while the kernel runs, else `{"exit": code}`;
- `{"kill": true}`: the kernel and everything it started are killed, then `{"exit": code, "tainted": why,
  "cpu": the CPU seconds the kernel used}`.

Each kernel starts from the server's state after its imports, never from another kernel's: the server runs no
code of a submission, and nothing of a kernel flows back into it (a child's memory is its own copy). The server
is not dumpable (no kernel may trace it or read its memory), only it may fork (the audit hook of
`cnnlab.grading.jail._inside`), and it is a child subreaper: what a kernel leaves running becomes its child. After
each kernel it looks for anything left (a process, a System V IPC object; POSIX message queues cannot be made:
`RLIMIT_MSGQUEUE` is 0); if it finds one, it kills it, says why and exits, and the grader starts a fresh server.
The grader empties the kernels' folders between kernels (`cnnlab.grading.jail.files`), when nothing runs here
but this server.
"""

import contextlib
import ctypes
import gc
import importlib
import json
import os
import random
import select
import signal
import sys
import time
from pathlib import Path

from cnnlab import startup
from cnnlab.grading.jail.frames import receive, send

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36
# signals a kernel (same uid) could send the server; ignored here, restored in each kernel
IGNORED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE)
IGNORED += (signal.SIGALRM, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGQUIT)


KERNEL_ONLY = ("matplotlib_inline",)  # imported in each kernel: its import hooks the plots into that kernel's shell


def import_modules(modules):
    """Import each module (but `KERNEL_ONLY`'s); the names of those that failed (a kernel that imports one meets
    the error itself)."""
    failed = []
    for module in modules:
        if module.split(".")[0] in KERNEL_ONLY:
            continue
        try:
            importlib.import_module(module)
        except Exception:
            failed.append(module)
    return failed


def _left_running(exclude=()):
    """This process's children but `exclude`: what a kernel left running (the server is a child subreaper: an
    orphan of the kernel, or of its descendants, becomes its child)."""
    me, left = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:  # ended meanwhile
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == me and int(pid) not in exclude:
            left.append(int(pid))
    return left


def _ipc_objects():
    """The System V shared memory segments, semaphores and message queues this process sees (a kernel's could
    outlive it in the jail's IPC namespace)."""
    objects = set()
    for kind in ("shm", "sem", "msg"):
        try:
            objects |= {(kind, line) for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]}
        except OSError:
            pass
    return objects


def _reap():
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def _kill_all(exclude=()):
    """Kill every child but `exclude`, and the children of those killed, which become ours; True if there
    was any."""
    left = _left_running(exclude)
    found = bool(left)
    for _ in range(100):
        if not left:
            break
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _reap()
        left = _left_running(exclude)
        time.sleep(0.01)
    return found


class Server:
    def __init__(self, stdin, stdout):
        self.stdin, self.stdout = stdin, stdout
        self.kernel = None  # the running kernel's pid
        self.bound = None  # the read end of its "sockets bound" pipe
        self.exit = None  # its exit code, once it ended
        self.cpu = None  # the CPU seconds it used, once it ended
        self.ipc = _ipc_objects()

    def _status(self, block=False):
        """The kernel's exit code, or None while it runs (`block`: wait for it to end)."""
        if self.kernel is not None and self.exit is None:
            pid, status, usage = os.wait4(self.kernel, 0 if block else os.WNOHANG)
            if pid:
                self.exit = os.waitstatus_to_exitcode(status)
                self.cpu = round(usage.ru_utime + usage.ru_stime, 3)
        return self.exit

    def start(self, connection_file):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            _kernel(connection_file, write)
        os.close(write)
        self.kernel, self.bound, self.exit, self.cpu = pid, read, None, None
        return {"started": True}

    def wait(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            if select.select([self.bound], [], [], 0.05)[0]:
                if os.read(self.bound, 1) == b"1":
                    return {"bound": True}
                return {"exit": self._status(block=True)}  # closed without a word: the kernel is ending
            if self._status() is not None:
                return {"exit": self.exit}
            if time.monotonic() > deadline:
                return {"bound": False}

    def kill(self):
        """Kill the kernel, its process group and anything it left; the exit code and why the server is tainted."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.kernel, signal.SIGKILL)
        self._status(block=True)
        os.close(self.bound)
        tainted = ""
        if _kill_all():
            tainted = "the kernel left processes running"
        elif _ipc_objects() - self.ipc:
            tainted = "the kernel left System V IPC objects"
        code, self.kernel = self.exit, None
        return {"exit": code, "tainted": tainted, "cpu": self.cpu}

    def serve(self):
        while (request := receive(self.stdin)) is not None:
            if "start" in request and self.kernel is None:
                reply = self.start(request["start"])
            elif self.kernel is None:
                reply = {"error": "no kernel"}
            elif "wait" in request:
                reply = self.wait(float(request["wait"]))
            elif "poll" in request:
                reply = {"exit": self._status()}
            elif "kill" in request:
                reply = self.kill()
            else:
                reply = {"error": f"unknown request {sorted(request)}"}
            send(self.stdout, reply)
            if reply.get("tainted"):
                return  # the jail ends with this process; the grader starts a fresh one


def _kernel(connection_file, bound):
    """The forked child: a fresh kernel reading `connection_file`; writes b"1" to the pipe `bound` once its
    sockets are bound, before it runs anything it is sent."""
    code = 1
    try:
        os.setsid()  # its own process group: the server kills the whole of it
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # it dies with the server
        for signum in IGNORED:
            signal.signal(signum, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)  # the server's channel is never the kernel's
        os.closerange(3, bound)
        os.closerange(bound + 1, 1 << 16)
        random.seed()  # its own random state, not the server's (numpy's global one too, when imported)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        import tempfile

        tempfile.tempdir = None
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", connection_file, "--HistoryManager.hist_file=:memory:"])
        os.write(bound, b"1")
        os.close(bound)
        app.start()
        code = 0
    except BaseException:
        code = 1
    os._exit(code)


def serve(modules):
    started = time.monotonic()
    startup.skip_unused_imports(plotting=True)  # (the kernels plot)
    failed = import_modules(modules)
    gc.collect()
    gc.freeze()  # the kernels share the imported objects' pages instead of copying them at their first collection
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # a kernel's orphans become ours
    for signum in IGNORED:
        signal.signal(signum, signal.SIG_IGN)
    server = Server(sys.stdin.buffer, sys.stdout.buffer)
    send(server.stdout, {"ready": round(time.monotonic() - started, 3), "failed": failed})
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the grader's log stays small
    server.serve()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    serve(json.loads(argv[0]))


if __name__ == "__main__":
    main()
