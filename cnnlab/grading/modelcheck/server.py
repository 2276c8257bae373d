"""The grader's side of a jailed model server (`cnnlab.grading.modelcheck._probe`): one per worker, reused across its
submissions, so that Keras is imported once per worker instead of once per model file.

`ModelServer(sandbox).check(model, measures)` copies one model file into the server's scratch folder (the only
folder its jail may write), has the server fork a fresh child that loads and measures that one file, and
returns (what the child measured, "") or (None, why); the folder is emptied for the next check. A check that
runs out of time, a child that killed the server or left processes behind: that server and its jail end and
the next check starts a fresh one. A server that never becomes ready is the grader's fault (GraderFault), not
the student's.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

from cnnlab.grading.jail import policy
from cnnlab.grading.jail.files import JailedDataError, read_jailed
from cnnlab.grading.modelcheck.wire import receive_within, send

START_TIMEOUT = 300  # seconds for a server to import Keras (`import keras` took 31.5 s on a busy 2-core machine)
MAX_PROBE_JSON = 2**20
MAX_OUTPUTS = 2**30  # bytes of one measure's outputs (the jail's file size limit is 1 GB)


class GraderFault(RuntimeError):
    """The grader, not the submission, failed (the jail did not start): an instructor must look, then regrade."""


class ModelServer:
    """A jailed Keras process that forks one child per model check (see the module's docstring)."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.process = None
        self.ready = False
        self.scratch = None
        self.log = None

    def start(self):
        """Start the server unless it runs (call it from a thread that lives as long as the server should: the
        jail dies with the thread that started it)."""
        if self.process is not None and self.process.poll() is None:
            return
        self.close()
        sandbox = self.sandbox
        self.scratch = Path(tempfile.mkdtemp(prefix="server-", dir=sandbox.folder()))
        images = Path(sandbox.folder()) / "images"
        images.mkdir(mode=0o755, exist_ok=True)
        limits = policy.limits(
            sandbox.memory_mb, sandbox.timeout_s, sandbox.processes, [self.scratch], fork_server=True
        )
        backend = next(
            (name for name in ("tensorflow", "jax") if find_spec(name)), os.environ.get("KERAS_BACKEND", "tensorflow")
        )  # TensorFlow's CPU convolutions are the fastest
        env = policy.environment(
            self.scratch,
            self.scratch,
            MPLCONFIGDIR=self.scratch,
            KERAS_BACKEND=backend,
            JAX_PLATFORMS="cpu",
            CUDA_VISIBLE_DEVICES="",
        )
        command = policy.command(
            sandbox.jail,
            limits,
            "cnnlab.grading.modelcheck._probe",
            [str(self.scratch)],
            writable=[self.scratch],
            readonly=[images],
            cwd=self.scratch,
        )
        self.log = tempfile.TemporaryFile(dir=sandbox.folder())  # the server's stderr until it is ready (GraderFault)
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=self.scratch,
            start_new_session=True,
        )
        self.ready = False

    def stop(self):
        """End the server and its jail (its scratch folder stays until `close`)."""
        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)  # bwrap and every process of its jail
            self.process.wait()
            self.process.stdin.close()
            self.process.stdout.close()
            self.process = None

    def close(self):
        """End the server and its jail, remove its scratch folder."""
        self.stop()
        if self.log is not None:
            self.log.close()
            self.log = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def _empty(self):
        """Remove what the check wrote; a folder that cannot be emptied ends this server (a fresh one, fresh folder)."""
        if self.process is None:
            self.close()
            return
        try:
            for entry in os.scandir(self.scratch):
                (shutil.rmtree if entry.is_dir(follow_symlinks=False) else os.unlink)(entry.path)
        except OSError:
            self.close()

    def _reply(self, timeout):
        """The server's next message, or None if it ended; TimeoutError after `timeout` seconds."""
        try:
            return receive_within(self.process.stdout, timeout)
        except TimeoutError:  # (an OSError: said, not taken for an end)
            raise
        except (ValueError, OSError):
            return None

    def _fault(self, what):
        self.log.seek(0)
        tail = self.log.read().decode(errors="replace").strip()[-300:]
        code = self.process.poll()
        self.close()
        return GraderFault(f"the model check's jail did not start ({what}, exit {code}): {tail}")

    def _ensure_ready(self):
        self.start()
        if self.ready:
            return
        began = time.monotonic()
        try:
            message = self._reply(START_TIMEOUT)
        except TimeoutError:
            raise self._fault(f"no answer in {START_TIMEOUT} s") from None
        if not (isinstance(message, dict) and "ready" in message):
            raise self._fault(f"it ended after {time.monotonic() - began:.1f} s")
        self.ready = True

    def check(self, model, measures):
        """(probe, "") or (None, why) for one model file: `probe` is probe.json as a dict, with "outputs": the bytes
        of each outputs-<i>.npy it names."""
        for attempt in (1, 2):  # a server that died between two checks is replaced once
            self._ensure_ready()
            shutil.copyfile(model, self.scratch / "model.keras")
            try:
                send(self.process.stdin, {"measures": measures})
                forked = self._reply(60)
            except (BrokenPipeError, TimeoutError):
                forked = None
            if forked == {"forked": True}:
                break
            self.close()
            if attempt == 2:
                raise GraderFault("the model server ended twice before it could start a check")
        try:
            done = self._reply(self.sandbox.timeout_s)
        except TimeoutError:
            self.close()
            return None, (
                f"checking it took longer than {self.sandbox.timeout_s:g} s (the time budget of a model "
                f"check) and was stopped"
            )
        if not isinstance(done, dict) or done.get("tainted"):
            self.stop()  # the check killed the server or left something running: the next check gets a fresh one
        try:
            return self._collect(done)
        finally:
            self._empty()

    def _collect(self, done):
        if not os.path.lexists(self.scratch / "probe.json"):
            code = done.get("exit") if isinstance(done, dict) else None
            how = (
                (f"killed by signal {-code}" if code < 0 else f"exit {code}")
                if isinstance(code, int)
                else "it ended the model server"
            )
            return None, (
                f"the process that loads and measures it died ({how}): the model needs more than the "
                f"grader's {self.sandbox.memory_mb} MB of memory, or crashes Keras"
            )
        folder = os.open(self.scratch, os.O_RDONLY | os.O_DIRECTORY)
        try:
            try:
                probe = json.loads(read_jailed("probe.json", folder, MAX_PROBE_JSON))
            except (JailedDataError, ValueError) as error:
                return None, f"the model check returned no readable measurements ({error})"
            if not isinstance(probe, dict):
                return None, "the model check returned no readable measurements"
            probe["outputs"] = {}
            values = probe.get("values")
            for value in values if isinstance(values, list) else []:
                name = value.get("outputs") if isinstance(value, dict) else None
                if isinstance(name, str) and re.fullmatch(r"outputs-\d+\.npy", name):
                    try:
                        probe["outputs"][name] = read_jailed(name, folder, MAX_OUTPUTS)
                    except JailedDataError:
                        pass  # judged as "no outputs"
            return probe, ""
        finally:
            os.close(folder)
