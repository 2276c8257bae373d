"""The grader's side of a jailed kernel server (`cnnlab.grading.jail._kernels`): one per worker, kept across its
submissions, so that the lab's libraries are imported once per worker instead of once per student.

The folders of a server and its kernels (the one layout every jailed kernel of this grader uses):

    <private root>/          the batch's (`cnnlab-grade-*` in the batch's TMPDIR): the grader's alone
      kernels-<random>/      one server's: the grader's; not in the jail
        home/                the kernel's working directory and HOME: the submission's files, matplotlib's
                             cache, the probes' folders
        tmp/                 its TMPDIR, IPython's and Jupyter's settings
        runtime/             Jupyter's runtime files: the connection file and the kernel's sockets

In the jail `home/`, `tmp/` and `runtime/` are bind mounts, each at its own path; the folders above them are
bubblewrap's, read-only, and a mount point cannot be renamed: a kernel can change what is inside its folders,
never the folders themselves or where they are. The grader reaches the three by these paths, which only it
controls, and what lies inside them only through their descriptors (`cnnlab.grading.jail.files.Folder`). It
talks to a kernel through the kernel's sockets as they were when the kernel had bound them and had run nothing
(descriptors opened then, reached as `/proc/self/fd/N`): a kernel that replaces a socket with a link or another
socket reaches nobody. Nothing in the folders is the grader's worker's own (its TMPDIR is elsewhere).

`KernelServer.kernel()` returns a fresh `Kernel`, its sockets bound; `start_next()`, called when the previous
kernel has ended, empties the folders and starts the next one ahead, while the worker judges; `poll()` and
`kill()` go through the server. A kernel that left anything behind ends its server, and folders that cannot be
emptied end their server too: the next kernel comes from a fresh server, in fresh folders.
"""

import ast
import json
import os
import secrets
import signal
import stat
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import nbformat

from cnnlab.grading.jail import policy
from cnnlab.grading.jail.files import Folder, remove_tree
from cnnlab.grading.jail.frames import receive_within, send

START_TIMEOUT = 300  # seconds for a server's imports (TensorFlow's took 31.5 s on a busy 2-core machine)
KERNEL_TIMEOUT = 60  # seconds for a forked kernel to bind its sockets
REPLY_TIMEOUT = 30  # seconds for any other answer of the server (it answers at once unless stopped)
FOLDERS = ("home", "tmp", "runtime")
CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
# what every kernel imports before the notebook's first cell, besides what the lab's own set-up cells import
BASE_MODULES = ["IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "numpy", "matplotlib.pyplot"]
BASE_MODULES += ["cnnlab.lab", "cnnlab.grading.probes._kernel"]


class KernelServerError(RuntimeError):
    """The kernel server, not the submission, failed (its jail did not start, it stopped answering, a fresh kernel
    did not start): an instructor must look, then grade again."""


def lab_modules(release):
    """The modules the released notebook `release` imports before its first answer cell (its set-up and import
    cells), after `BASE_MODULES`: what a kernel server imports once for all its kernels."""
    nb = nbformat.read(release, as_version=4)
    modules = list(BASE_MODULES)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            break
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            modules += [name for name in names if name not in modules]
    return modules


class Kernel:
    """A kernel forked by the server, its sockets bound: its connection info, its working folder (`home`, held
    open by the server), and a descriptor of each of its sockets (`url(channel)`)."""

    def __init__(self, connection, home, runtime):
        self.connection, self.home, self.sockets = connection, home, {}
        try:
            for channel in CHANNELS:
                name = f"{os.path.basename(connection['ip'])}-{connection[f'{channel}_port']}"
                fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=runtime.fd)
                self.sockets[channel] = fd
                if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                    raise KernelServerError(f"the kernel's {channel} socket {name} is not a socket")
        except BaseException:
            self.close()
            raise

    def url(self, channel):
        """The ZeroMQ address of the kernel's `channel` socket, through this process's descriptor of it."""
        return f"ipc:///proc/self/fd/{self.sockets[channel]}"

    def close(self):
        """Close the sockets' descriptors: after the clients connected through them are closed."""
        while self.sockets:
            os.close(self.sockets.popitem()[1])


class KernelServer:
    """A jailed process that imported the lab's libraries once and forks a fresh kernel for each submission (see
    the module's docstring). Start it, and ask it for kernels, from the thread that will outlive it: a jail dies
    with the thread that started it."""

    def __init__(self, jail, limits, private_root, modules, quick=False, mpl_cache=None):
        self.jail, self.limits, self.private_root = jail, limits, Path(private_root)
        self.modules, self.quick, self.mpl_cache = list(modules), quick, mpl_cache
        self.process = self.log = self.area = None
        self.folders = {}
        self.ready = False
        self.started = {}  # the server's ready message: its import seconds, the modules it could not import
        self.pending = None  # the connection info of the kernel started ahead, its "started" not read yet
        self.running = False  # a kernel was handed out and not killed yet
        self.exit = None  # the exit code of the last kernel, once it ended
        self.tainted = ""  # why the server had to end after the last kernel, or ""
        self.cpu = None  # the CPU seconds the last kernel used, as its server measured them

    @property
    def owner(self):
        """The uid that what the grader puts in the folders is handed to: the jail's, when the grader is root."""
        return self.jail.uid if self.jail.mode == "bwrap-root" else None

    def _start_server(self):
        self.close()
        self.area = Path(tempfile.mkdtemp(prefix="kernels-", dir=self.private_root))
        paths = {name: self.area / name for name in FOLDERS}
        for path in paths.values():
            path.mkdir(mode=0o700)
        self.folders = {name: Folder.open(path, self.owner) for name, path in paths.items()}
        self._fill_home()
        limits = dict(self.limits, writable=[str(p) for p in paths.values()], fork_server=True)
        env = policy.kernel_environment(paths["home"], paths["tmp"], paths["runtime"], self.quick)
        command = policy.command(
            self.jail,
            limits,
            "cnnlab.grading.jail._kernels",
            [json.dumps(self.modules)],
            writable=list(paths.values()),
            cwd=paths["home"],
        )
        self.log = tempfile.TemporaryFile()  # the server's stderr until it is ready (KernelServerError)
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=paths["home"],
            start_new_session=True,
        )
        self.ready = False

    def _fill_home(self):
        if self.mpl_cache and Path(self.mpl_cache).is_dir():
            self.folders["home"].copy_tree_in(self.mpl_cache, ".mpl")

    def _alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """End the server, its kernel and its jail (the folders stay until `close`)."""
        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)  # bwrap and every process of its jail
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                with suppress(OSError):  # (a request still buffered for a server that ended)
                    stream.close()
            self.process = None
        if self.running:
            self.exit = -signal.SIGKILL
        self.ready, self.pending, self.running = False, None, False

    def close(self):
        """End the server and its jail, remove its folders."""
        self.stop()
        if self.log is not None:
            self.log.close()
            self.log = None
        while self.folders:
            self.folders.popitem()[1].close()
        if self.area is not None:
            remove_tree(self.area)  # (what cannot be removed now is removed with the batch's private root)
            self.area = None

    def _send(self, request):
        try:
            send(self.process.stdin, request)
        except (BrokenPipeError, OSError, ValueError, AttributeError):
            raise KernelServerError("the kernel server ended") from None

    def _reply(self, timeout):
        """The server's next message; KernelServerError if it ended or said nothing in `timeout` seconds."""
        if self.process is None:
            raise KernelServerError("the kernel server ended")
        try:
            message = receive_within(self.process.stdout, timeout)
        except TimeoutError:
            raise KernelServerError(f"the kernel server did not answer in {timeout:g} s") from None
        except (ValueError, OSError):
            message = None
        if not isinstance(message, dict):
            raise KernelServerError("the kernel server ended")
        return message

    def _request(self, request, timeout=REPLY_TIMEOUT):
        self._send(request)
        return self._reply(timeout)

    def _ensure_ready(self):
        if self.ready:
            return
        began = time.monotonic()
        try:
            message = self._reply(START_TIMEOUT)
        except KernelServerError as error:
            raise self._fault(f"{error}; after {time.monotonic() - began:.1f} s") from None
        if "ready" not in message:
            raise self._fault(f"it said {str(message)[:100]}")
        self.ready, self.started = True, message

    def _fault(self, what):
        tail = ""
        if self.log is not None:
            self.log.seek(0)
            tail = self.log.read().decode(errors="replace").strip()[-300:]
        code = self.process.poll() if self.process is not None else None
        self.close()
        return KernelServerError(f"the kernel server's jail did not start ({what}, exit {code}): {tail}")

    def _prepare_folders(self):
        """Fresh folders for the next kernel: emptied (nothing but the server runs in the jail now), their owner
        and rights as made (a kernel may have taken its own rights away), matplotlib's cache in `home`; a server
        whose folders cannot be emptied is replaced (a fresh server, fresh folders)."""
        try:
            for folder in self.folders.values():
                if not folder.empty():
                    raise OSError(f"{folder.path} could not be emptied")
                folder.reset(0o700)
        except OSError:
            self._start_server()
            return
        self._fill_home()

    def start_next(self):
        """Start the next kernel ahead: call it when no kernel runs. The server is started first if it does not
        run; its folders are emptied. Raises KernelServerError only for a server that cannot be started."""
        if self.pending is not None:
            return
        if self.running:
            raise KernelServerError("a kernel still runs: kill it before starting the next")
        if not self._alive():
            self._start_server()
        elif self.ready:
            self._prepare_folders()
        # (a server still importing has the fresh folders it started with)
        key = secrets.token_hex(32)
        runtime = self.folders["runtime"]
        connection = {
            "transport": "ipc",
            "ip": os.path.join(runtime.path, f"kernel-{secrets.token_hex(4)}"),
            "key": key,
            "signature_scheme": "hmac-sha256",
            "kernel_name": "cnnlab-sandbox",
            **{f"{channel}_port": port for port, channel in enumerate(CHANNELS, 1)},
        }
        name = f"{os.path.basename(connection['ip'])}.json"
        runtime.write(name, json.dumps(connection))
        try:
            self._send({"start": os.path.join(runtime.path, name)})
        except KernelServerError:
            raise self._fault("it ended before it was asked for a kernel") from None
        self.pending = connection

    def kernel(self):
        """The next kernel (`Kernel`), its sockets bound: the one started ahead, else a new one. A server that
        ended since (killed from outside, out of memory) is replaced once."""
        for attempt in (1, 2):
            try:
                if self.pending is None:
                    self.start_next()
                return self._take()
            except KernelServerError:
                self.stop()
                if attempt == 2:
                    raise
            except BaseException:
                self.stop()
                raise

    def _take(self):
        connection = self.pending
        self._ensure_ready()
        started = self._reply(REPLY_TIMEOUT)
        if started != {"started": True}:
            raise KernelServerError(f"the kernel server did not start a kernel ({str(started)[:100]})")
        self.running, self.pending, self.exit, self.tainted, self.cpu = True, None, None, "", None
        bound = self._request({"wait": KERNEL_TIMEOUT}, KERNEL_TIMEOUT + REPLY_TIMEOUT)
        if bound != {"bound": True}:
            raise KernelServerError(f"a fresh kernel did not start ({str(bound)[:100]})")
        return Kernel(connection, self.folders["home"], self.folders["runtime"])

    def poll(self):
        """The kernel's exit code, or None while it runs; a kernel that ended is `kill`ed (what it left behind is
        looked for); a server that does not answer is ended (-9)."""
        if self.running:
            try:
                code = self._request({"poll": True}).get("exit")
            except KernelServerError:
                self.stop()
                return self.exit
            if code is not None:
                self.kill()
        return self.exit

    def kill(self):
        """Kill the kernel and whatever it started; its exit code. `tainted` then says why the server had to end,
        or is ""."""
        if not self.running:
            return self.exit
        try:
            reply = self._request({"kill": True})
        except KernelServerError as error:
            self.stop()
            self.tainted = str(error)
            return self.exit
        self.running, self.exit, self.tainted = False, reply.get("exit"), reply.get("tainted") or ""
        self.cpu = reply.get("cpu")
        if self.tainted or "exit" not in reply:
            self.stop()
        return self.exit
