"""The batch's worker processes: `--workers` of them, each grading one job at a time under the wall-clock
limit; killed with their kernels at the limit, on SIGTERM or SIGINT, or when the batch fails."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from cnnlab.grading.paths import python_path


class Interrupted(Exception):
    """SIGTERM or SIGINT stopped the batch; what was graded before is kept."""


class WorkerProcess:
    """One `python -m cnnlab.grading.worker --serve` process: it grades the jobs it is given, one at a time."""

    def __init__(self, log_path, cwd, stop):
        self.log_path, self.cwd, self.process, self.stop = Path(log_path), cwd, None, stop

    def start(self):
        env = dict(os.environ, PYTHONPATH=python_path())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cnnlab.grading.worker", "--serve"],
            stdin=subprocess.PIPE,
            stdout=open(self.log_path, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=self.cwd,
        )

    def warm(self, warm_up):
        """Start the worker and have it start its servers from the settings in `warm_up` (a job without a
        submission), before its first job."""
        self._send(f"warm {warm_up}")

    def check(self, warm_up, out, timeout):
        """Have the worker check the reference of the settings in `warm_up` in its reference kernel, which writes
        `out`; ("done" | "timeout" | "died" | "stopped", exit code), as `run`."""
        self._send(f"check {warm_up}")
        return self._wait(out, timeout)

    def run(self, job, result, timeout):
        """("done" | "timeout" | "died" | "stopped", exit code): waits for `result` to appear, at most `timeout` s."""
        self._send(str(job))
        return self._wait(result, timeout)

    def _send(self, line):
        if self.process is None or self.process.poll() is not None:
            self.start()
        try:
            self.process.stdin.write(f"{line}\n".encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            pass

    def _wait(self, path, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.stop.is_set():
                self.kill()
                return "stopped", None
            if Path(path).exists():
                return "done", 0
            code = self.process.poll()
            if code is not None:
                return "died", code
            if time.monotonic() > deadline:
                self.kill()
                return "timeout", None
            time.sleep(0.05)

    def kill(self):
        """SIGKILL to the worker, its kernels and their process groups (jupyter starts a kernel in its own)."""
        process = self.process
        if process is not None:
            for pid in process_tree(process.pid):
                try:
                    group = os.getpgid(pid)
                    if group != os.getpgrp():
                        os.killpg(group, signal.SIGKILL)
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            process.wait()
            self.process = None

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
            except BaseException:  # a signal while waiting: leave nothing running
                self.kill()
                raise


def process_tree(pid):
    """`pid` and all its descendants (from /proc), parents first."""
    children = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat_file.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop(0))
        todo += children.get(tree[-1], [])
    return tree


def run_pool(todo, grade_one, done_one, workers, log_dir, cwd, failed, warm_up=None, before=None):
    """Grade each item of `todo` with `grade_one(item, worker)` on the first free one of `workers` worker
    processes (their logs `log_dir/worker-<k>.log`), then `done_one(item, result, count)` in this thread as each
    finishes. One item never stops the others: an exception of `grade_one` (but `Interrupted`) becomes the
    result `failed(item, error)`, and an item whose `done_one` raised is returned in the list of those lost,
    [(item, error)], after every other item was done. `warm_up`: the workers are started at once and start their
    servers from it (`WorkerProcess.warm`) while this thread runs `before(first worker)` (the batch's own set-up),
    then they grade. SIGTERM and SIGINT raise `Interrupted`; on it, on an error of `before`, or on a failure of the pool
    itself, every worker and its kernels are killed; at the end the workers are closed."""
    stop = threading.Event()
    processes = [WorkerProcess(Path(log_dir) / f"worker-{k}.log", cwd, stop) for k in range(workers)]
    free = queue.Queue()
    for process in processes:
        free.put(process)

    def on_a_free_worker(item):
        process = free.get()
        try:
            return grade_one(item, process)
        except Interrupted:
            raise
        except Exception as error:
            return failed(item, error)
        finally:
            free.put(process)

    lost = []
    previous_handlers = _stop_on_signals()
    try:
        if warm_up is not None and todo:
            for process in processes[: len(todo)]:
                process.warm(warm_up)
        if before is not None and todo:
            before(processes[0])
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            futures = {pool.submit(on_a_free_worker, item): item for item in todo}
            for count, future in enumerate(as_completed(futures), 1):
                item = futures[future]
                result = future.result()
                try:
                    done_one(item, result, count)
                except Interrupted:
                    raise
                except Exception as error:
                    lost.append((item, error))
        except BaseException:
            stop.set()  # the threads' workers kill themselves and their kernels
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    except BaseException:
        stop.set()
        for process in processes:
            process.kill()
        raise
    finally:
        try:
            _close_all(processes)
        finally:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
    return lost


def _close_all(workers):
    """Close every worker; if a signal interrupts that, kill them all (and their kernels) and re-raise."""
    try:
        for worker in workers:
            worker.close()
    except BaseException:
        for worker in workers:
            worker.kill()
        raise


def _stop_on_signals():
    """SIGTERM and SIGINT raise `Interrupted` in the main thread (the batch then stops its workers); returns
    the handlers they replace. Nothing to do outside the main thread, where signals cannot be handled."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def stop(signum, frame):
        raise Interrupted(f"stopped by {signal.Signals(signum).name}")

    return {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
