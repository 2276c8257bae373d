"""The grader's side of the stand-ins (`cnnlab.grading.probes._stand_ins`): while one probe runs in a student's
kernel, a thread of the worker answers the calls it writes in its folder.

`CallServer(folder, grade_id, names, answer)` works through the descriptor of the probe's folder only (`folder`, a
`jail.files.Folder` the grader made in the kernel's folder), never by a path the kernel could swap: it reads each
`call-<n>.json` as `jail.files.read_jailed` does (a regular file, never through a link, at most `MAX_CALL_BYTES`),
removes it, checks its form (`wire.check_packed`; a function this test names, at most `MAX_CALLS` calls), has
`answer(grade_id, call)` (the reference kernel) make the answer, and writes `answer-<n>.json` beside it (a new
file, renamed into place; handed to the folder's owner, the kernel's user, when the grader is root). Whatever the
kernel wrote only shapes the answer to its own call: a call the grader will not pass on is answered with an error,
and nothing here raises out of the thread.
"""

import json
import os
import secrets
import sys
import threading

from cnnlab.grading.jail.files import JailedDataError, read_jailed
from cnnlab.grading.probes.wire import CALL, MAX_NUMBERS, check_packed

MAX_CALL_BYTES = 64 << 20
MAX_CALLS = 200  # stand-in calls in one probe run (the labs' probes make at most a few dozen)


class CallServer:
    """Answers one probe run's stand-in calls (see the module's docstring) from `start` to `stop`."""

    def __init__(self, folder, grade_id, names, answer):
        self.grade_id, self.names, self.answer, self.owner = grade_id, set(names), answer, folder.owner
        self.dir_fd = os.dup(folder.fd)  # (its own: the folder is closed after `stop`)
        self.calls = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, name=f"stand-ins of {grade_id}", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        """Answer no more calls; returns once the thread has ended (an answer in the making is finished first)."""
        self.stopping.set()
        self.thread.join()
        os.close(self.dir_fd)

    def _serve(self):
        delay = 0.0005
        while not self.stopping.is_set():
            try:
                pending = sorted(
                    (int(match.group(1)), entry.name)
                    for entry in os.scandir(self.dir_fd)
                    if (match := CALL.fullmatch(entry.name))
                )
            except OSError:
                pending = []
            for number, name in pending:
                try:
                    self._write(f"answer-{number}.json", self._reply(name))
                except Exception as error:  # noqa: BLE001 (a grader bug answers this call; the test then fails)
                    print(f"cnnlab grader: a stand-in call of {self.grade_id} failed: {error!r}", file=sys.stderr)
            delay = 0.0005 if pending else min(2 * delay, 0.005)
            self.stopping.wait(delay)

    def _reply(self, name):
        """The answer's bytes to the call in file `name` (removed once read)."""
        try:
            data = read_jailed(name, self.dir_fd, MAX_CALL_BYTES)
        except JailedDataError as error:
            return _error("ValueError", f"the grader could not read the call ({error})")
        finally:
            try:
                os.unlink(name, dir_fd=self.dir_fd)
            except OSError:
                pass
        self.calls += 1
        if self.calls > MAX_CALLS:
            return _error("RuntimeError", f"the grader answers at most {MAX_CALLS} calls in one test")
        try:
            call = json.loads(data)
            function, args, kwargs = call["function"], call["args"], call["kwargs"]
            if not (
                isinstance(function, str)
                and isinstance(args, list)
                and isinstance(kwargs, dict)
                and set(call) == {"function", "args", "kwargs"}
            ):
                raise ValueError("a call is {function: str, args: list, kwargs: dict}")
            budget = [MAX_NUMBERS]
            check_packed(args, budget)
            check_packed(list(kwargs.values()), budget)
        except Exception as error:  # noqa: BLE001 (the kernel's bytes: any failure to read them is the call's)
            return _error("ValueError", f"the grader does not pass these arguments on ({str(error)[:200]})")
        if function not in self.names:
            return _error("RuntimeError", f"the grader answers for {', '.join(sorted(self.names))} in this test only")
        return self.answer(self.grade_id, json.dumps(call).encode())

    def _write(self, name, data):
        """`data` as the new file `name` in the probe's folder: written under a fresh name, then renamed."""
        part = f".{name}.{secrets.token_hex(6)}"
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=self.dir_fd)
        except OSError:
            return  # the kernel's folder is in a state it made itself: its call goes unanswered
        try:
            if self.owner is not None:
                os.fchown(fd, self.owner, self.owner)
            with os.fdopen(fd, "wb", closefd=False) as file:
                file.write(data)
        finally:
            os.close(fd)
        try:
            os.rename(part, name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
        except OSError:
            pass


def _error(kind, message):
    return json.dumps({"error": kind, "message": message}).encode()
