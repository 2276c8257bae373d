"""The kernel's side of a test: a probe calls the student's functions and records plain values, nothing more.

A test cell's `### BEGIN PROBE` block runs in the kernel (the student's, or the reference's) through `run`,
with `probe` bound to a `Recorder`; the values it records land in the folder the grader named for this one
run of this one probe, as `records.json` and `.npy` files (no pickle). Nothing here decides a score: the
student controls this interpreter and may replace anything in it, which can only change the data handed
back; `cnnlab.grading.probes.judge` compares that data with the reference's, in the grader's process.

`probe.using_reference("layer_counts")` (see `cnnlab.grading.probes._replay`) makes the other tasks a test relies on
answer with the reference's values, so that one bug costs one task's points.

"""

import contextlib
import json
from pathlib import Path

import numpy as np

from cnnlab.grading.probes import _replay as replay
from cnnlab.grading.probes.wire import CODE, MAX_RECORDS, RECORDS, encode


class Recorder:
    """`probe` in a PROBE block: `probe.record(name, value)` keeps a value for the grader under a unique name.

    `namespaces`: the notebook's globals and the probe's copy of them, where `using_reference` puts its stand-ins
    (none in a plain run)."""

    def __init__(self, directory=None, namespaces=()):
        self.directory = Path(directory) if directory else None
        self.namespaces = namespaces
        self.values = {}
        self.error = None
        self.calls = replay.Calls.load(self.directory / replay.REPLAYED) if self.directory else replay.Calls()

    def using_reference(self, *names, **stand_ins):
        """A block in which the notebook's functions `names` answer the reference's calls with its results, and
        each of `stand_ins` (name=function: cnnlab's public block for a task that builds Keras layers) replaces the
        notebook's function of that name, in the reference's kernel and the student's alike."""
        if not self.namespaces:  # a plain run of the solution: its own functions are the reference
            return contextlib.nullcontext()
        return self.calls.using(self.namespaces, names, stand_ins)

    def record(self, name, value):
        if not isinstance(name, str) or not name:
            raise TypeError(f"probe.record needs a name (a non-empty str) first. Received: {name!r}")
        if name in self.values:
            raise ValueError(f"probe.record: {name!r} is recorded twice; give each value its own name")
        if len(self.values) >= MAX_RECORDS:
            raise ValueError(f"probe.record: more than {MAX_RECORDS} values in one probe")
        self.values[name] = encode(value)
        return value

    def save(self):
        """records.json: {"values": {name: {"kind", "value" | "file"}}, "error": exception type or null}."""
        entries = {}
        for number, (name, (kind, data)) in enumerate(self.values.items()):
            if kind == "array":
                file = f"{number}.npy"
                np.save(self.directory / file, data, allow_pickle=False)
                entries[name] = {"kind": kind, "file": file}
            else:
                entries[name] = {"kind": kind, "value": data}
        text = json.dumps({"values": entries, "error": self.error})
        (self.directory / RECORDS).write_text(text)
        self.calls.save(self.directory / replay.RECORDED)


def run(directory, namespace):
    """Run the probe code the grader left in `directory` (then deleted), recording into `directory`.

    The code runs in a copy of the notebook's namespace, so its inputs do not change the student's variables.
    An exception stops the probe; its type is recorded (not its message, which may show a hidden input)."""
    directory = Path(directory)
    code_path = directory / CODE
    code = code_path.read_text()
    code_path.unlink()
    scope = dict(namespace)
    recorder = Recorder(directory, (namespace, scope))
    scope["probe"] = recorder
    try:
        exec(compile(code, "<cnnlab probe>", "exec"), scope)
    except BaseException as error:  # noqa: B036 (an interrupt is recorded too, then goes on)
        recorder.error = type(error).__name__
        if not isinstance(error, Exception):
            recorder.save()
            raise
    recorder.save()
