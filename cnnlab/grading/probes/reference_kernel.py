"""The reference: the solution notebook, run once in a trusted kernel and kept warm, computing on the grader's side
each submission's expected values and the stand-ins' answers. Nothing it computes is handed to a student's kernel
but the answer to a call that kernel's own code made.

`ReferenceKernel(solution, tests, folder, quick)` (`tests`: the index's, `reference.load`) starts a kernel of the
grader's own interpreter (ipykernel, not jailed: it runs the instructors' notebook only), runs the solution's cells
up to its last probed test (each probed test cell as released, after which `reference_side.snapshot` keeps the
namespace), and then serves, one at a time in its own thread, in this order of priority:

- `answer(grade_id, call)`: the solution's answer to a stand-in's call (`wire`'s JSON bytes, already checked),
  made while a student's probe waits for it;
- `records(grade_id, seed)`: what test `grade_id`'s probe records when `probe.rng` is seeded with `seed` (a
  Future of `(records, error)`, read with `judge.read_records`).

A call that runs longer than `call_timeout` is interrupted and answered with a TimeoutError; a kernel that dies
(a student's arguments that exhaust its memory) is started again. A worker keeps one per lab (`for_job`), started
at its warm-up (`warm`), so the solution runs once per worker; the first worker's also checks the solution's rules
before grading (`reference.check`).
"""

import itertools
import json
import os
import queue
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import nbformat

from cnnlab.grading.cells import nbg
from cnnlab.grading.jail import policy
from cnnlab.grading.probes import judge

SIDE = "__import__('cnnlab.grading.probes.reference_side', fromlist=['answer'])"
STARTUP = "__import__('cnnlab.startup', fromlist=['startup']).skip_unused_imports(plotting=True)"  # (plots)
STOP_WAIT = 10  # seconds for an interrupted cell to end before the kernel is started again


class ReferenceFault(RuntimeError):
    """The reference failed where no student's data was involved (the solution's cells, its own probe): the
    instructors' to fix; the message says what."""


class ReferenceKernel:
    """The solution's trusted kernel, warm (see the module's docstring)."""

    def __init__(self, solution, tests, folder, quick, timeout=600, call_timeout=30, sockets_in=None):
        self.solution, self.tests, self.quick = Path(solution), tests, quick
        self.folder = Path(folder)
        self.sockets_in = sockets_in  # where its sockets' folder goes (None: TMPDIR); a short path
        self.timeout, self.call_timeout = timeout, call_timeout
        self.manager = self.client = self.sockets = None
        self.work = queue.PriorityQueue()
        self.order = itertools.count()
        self.thread = None
        self.seconds = 0.0  # time the kernel spent on the submissions' requests, for the workers' timings
        self.lock = threading.Lock()

    # -- any thread --

    def records(self, grade_id, seed):
        """A Future of (records, probe error) of test `grade_id` for `seed`."""
        return self._submit(1, self._records, grade_id, seed)

    def answer(self, grade_id, call):
        """The answer (JSON bytes) to one stand-in call of test `grade_id`'s probe; blocks until it is made."""
        return self._submit(0, self._answer, grade_id, call).result()

    def warm(self):
        """Start the kernel and run the solution now, in the kernel's thread; returns at once (a failure is the next
        request's to meet: it starts the kernel again). Its seconds are no submission's: `seconds` leaves them out."""
        self._submit(2, self._started)

    @staticmethod
    def _started():
        """The warm-up's request: starting the kernel (before any request) is all it asks."""

    def close(self):
        """Stop the kernel and its thread, remove its folders."""
        if self.thread is not None:
            stopped = Future()
            self.work.put((-1, next(self.order), None, (), stopped))
            stopped.result()
            self.thread = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def _submit(self, priority, function, *args):
        future = Future()
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._serve, name="reference kernel", daemon=True)
                self.thread.start()
        self.work.put((priority, next(self.order), function, args, future))
        return future

    # -- the kernel's own thread --

    def _serve(self):
        while True:
            _, _, function, args, future = self.work.get()
            if function is None:
                self._stop()
                future.set_result(None)
                return
            if not future.set_running_or_notify_cancel():
                continue
            began = time.monotonic()
            try:
                if self.client is None:
                    self._start()
                future.set_result(function(*args))
            except BaseException as error:  # noqa: B036 (the waiting thread gets it)
                future.set_exception(error)
            finally:
                if function is not self._started:
                    self.seconds += time.monotonic() - began

    def _start(self):
        from jupyter_client.manager import KernelManager

        self.folder.mkdir(parents=True, exist_ok=True)
        for name in ("cwd", "tmp", "runs"):
            (self.folder / name).mkdir(exist_ok=True)
        # short: a socket path has 107 bytes
        self.sockets = Path(tempfile.mkdtemp(prefix="cnnlab-reference-", dir=self.sockets_in))
        env = policy.environment(
            self.folder / "cwd",
            self.folder / "tmp",
            CNNLAB_GRADING="1",
            CNNLAB_QUICK="1" if self.quick else "0",
            MPLCONFIGDIR=self.folder / "tmp",
            JUPYTER_RUNTIME_DIR=self.sockets,
        )
        self.manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(self.sockets / "kernel"))
        self.manager.connection_file = str(self.sockets / "kernel.json")
        self.manager.start_kernel(cwd=str(self.folder / "cwd"), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=self.timeout)
            self._run_solution()
        except BaseException:
            self._stop()
            raise

    def _run_solution(self):
        nb = nbformat.read(self.solution, as_version=4)
        last = max(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") in self.tests)
        self._execute(STARTUP, self.timeout)
        for cell in nb.cells[: last + 1]:
            if cell.cell_type != "code":
                continue
            grade_id = nbg(cell).get("grade_id") if nbg(cell).get("grade") else None
            if grade_id in self.tests:
                self._execute(self.tests[grade_id]["visible"], self.timeout, history=True)  # (errors: the notebook's)
                reply = self._execute(f"{SIDE}.snapshot({grade_id!r}, globals())", self.timeout)
                if reply.get("status") != "ok":
                    raise ReferenceFault(f"the reference kept no namespace for {grade_id} ({reply.get('ename')})")
            else:
                self._execute(cell.source, self.timeout, history=True)

    def _execute(self, code, timeout, history=False):
        """The reply's content of running `code`; a cell still running after `timeout` s is interrupted
        (TimeoutError), a kernel that does not stop then is started again."""
        try:
            return self.client.execute_interactive(
                code, silent=not history, store_history=history, timeout=timeout, output_hook=lambda message: None
            )["content"]
        except TimeoutError:
            if not self.manager.is_alive():
                self._stop()  # the next request starts a fresh kernel
                raise
            self.manager.interrupt_kernel()
            try:
                while self.client.get_shell_msg(timeout=STOP_WAIT)["msg_type"] != "execute_reply":
                    pass
            except queue.Empty:
                self._stop()  # the next request starts a fresh kernel
            raise

    def _records(self, grade_id, seed):
        folder = Path(tempfile.mkdtemp(dir=self.folder / "runs"))
        try:
            code = self._code_file(folder, self.tests[grade_id]["probe"])
            run = f"{SIDE}.run_probe({grade_id!r}, {str(code)!r}, {seed}, {str(folder)!r}, globals())"
            try:
                reply = self._execute(run, self.timeout)
            except TimeoutError:
                raise ReferenceFault(f"{grade_id}: the reference's probe ran longer than {self.timeout:g} s") from None
            if reply.get("status") != "ok":
                raise ReferenceFault(f"{grade_id}: the reference's probe cell failed ({reply.get('ename')})")
            return judge.read_records(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _code_file(folder, code):
        path = folder / "probe-code.py"
        path.write_text(code)
        return path

    def _answer(self, grade_id, call):
        folder = Path(tempfile.mkdtemp(dir=self.folder / "runs"))
        try:
            (folder / "call.json").write_bytes(call)
            answer = folder / "answer.json"
            try:
                call_file = str(folder / "call.json")
                self._execute(f"{SIDE}.answer({grade_id!r}, {call_file!r}, {str(answer)!r})", self.call_timeout)
            except TimeoutError:
                message = f"the grader stopped it after {self.call_timeout:g} s on these arguments"
                return json.dumps({"error": "TimeoutError", "message": message}).encode()
            if self.manager is None or not self.manager.is_alive():
                self._stop()
                return json.dumps({"error": "MemoryError", "message": "it ended the reference's kernel"}).encode()
            if not answer.exists():
                return json.dumps({"error": "RuntimeError", "message": "the reference gave no answer"}).encode()
            return answer.read_bytes()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _stop(self):
        if self.client is not None:
            self.client.stop_channels()
            self.client = None
        if self.manager is not None:
            self.manager.shutdown_kernel(now=True)
            self.manager = None
        if self.sockets is not None:
            shutil.rmtree(self.sockets, ignore_errors=True)
            self.sockets = None


def expected_values(tests, futures):
    """{grade_id: records} of the reference for one submission, from the Futures of `ReferenceKernel.records`; each
    checked against its test's rules (ReferenceFault when the solution fails them for this seed)."""
    expected = {}
    for grade_id, future in futures.items():
        records, error = future.result()
        try:
            judge.check_solution(grade_id, tests[grade_id], records, error)
        except RuntimeError as failure:
            raise ReferenceFault(f"{failure} (for this submission's inputs)") from None
        expected[grade_id] = records
    return expected


_KERNELS = {}  # this worker's reference kernels, by the reference's index file


def for_job(job, tests):
    """This worker's warm ReferenceKernel of `job`'s lab (the index `job.reference`, whose tests are `tests`)."""
    if job.reference not in _KERNELS:
        index = json.loads(Path(job.reference).read_text())
        folder = Path(job.reference).parent / f"worker-{os.getpid()}"
        _KERNELS[job.reference] = ReferenceKernel(
            index["solution"],
            tests,
            folder,
            job.quick,
            timeout=max(job.cell_timeout, 60),
            call_timeout=min(job.cell_timeout, 30),
            sockets_in=job.private_root,  # (the batch removes it, also when a killed worker could not)
        )
    return _KERNELS[job.reference]


def close_all():
    """End this worker's reference kernels."""
    while _KERNELS:
        _KERNELS.popitem()[1].close()
