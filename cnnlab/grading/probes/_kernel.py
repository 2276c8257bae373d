"""The kernel's side of a test: a probe calls the student's functions and records plain values, nothing more.

A test cell's `### BEGIN PROBE` block runs in the student's kernel through `run`, with `probe` bound to a
`Recorder`; the values it records land in the folder the grader named for this one run of this one probe, as
`records.json` and `.npy` files (no pickle). Nothing here decides a score: the student controls this interpreter
and may replace anything in it, which can only change the data handed back; `cnnlab.grading.probes.judge`
compares that data with the reference's, in the grader's process.

Everything the kernel is given is the student's to read: the probe's code, and `probe.rng`, a NumPy generator the
grader seeded for this test of this submission (`cnnlab.grading.secret`), from which the probe draws its inputs.
The reference's values for those inputs are computed in the grader's reference kernel and never come here.
`probe.using_reference("conv2d")` (see `cnnlab.grading.probes._stand_ins`) makes the other tasks a test relies on
answer as the solution's functions do, so that one bug costs one task's points.
"""

import contextlib
import json
from pathlib import Path

import numpy as np

from cnnlab.grading.probes import _stand_ins
from cnnlab.grading.probes.wire import CODE, MAX_RECORDS, RECORDS, encode


class Recorder:
    """`probe` in a PROBE block: `probe.record(name, value)` keeps a value for the grader under a unique name;
    `probe.rng` is the generator its hidden inputs come from.

    `stand_ins`: what `using_reference` does (`_stand_ins.AskTheGrader` in a student's kernel, `GivenOnly` in the
    reference's); None in a plain run of the solution, whose own functions are the reference."""

    def __init__(self, directory=None, rng=None, stand_ins=None):
        self.directory = Path(directory) if directory else None
        self.rng = rng
        self.stand_ins = stand_ins
        self.values = {}
        self.error = None

    def using_reference(self, *names, **stand_ins):
        """A block in which the notebook's functions `names` answer as the solution's do, and each of `stand_ins`
        (name=function: cnnlab's public block for a task that builds Keras layers) replaces the notebook's
        function of that name, in the reference's kernel and the student's alike."""
        if self.stand_ins is None:
            return contextlib.nullcontext()
        return self.stand_ins.using(names, stand_ins)

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
        (self.directory / RECORDS).write_text(json.dumps({"values": entries, "error": self.error}))


def execute(code, recorder, scope):
    """Run a probe's `code` in `scope` with `probe` bound to `recorder`, then save what it recorded.

    An exception stops the probe; its type is recorded (not its message, which may show an input)."""
    scope["probe"] = recorder
    try:
        exec(compile(code, "<cnnlab probe>", "exec"), scope)
    except BaseException as error:  # noqa: B036 (an interrupt is recorded too, then goes on)
        recorder.error = type(error).__name__
        if not isinstance(error, Exception):
            recorder.save()
            raise
    recorder.save()


def run(directory, namespace, seed):
    """Run the probe code the grader left in `directory` (then deleted), recording into `directory`; its inputs
    come from a generator seeded with `seed`.

    The code runs in a copy of the notebook's namespace, so its inputs do not change the student's variables."""
    directory = Path(directory)
    code_path = directory / CODE
    code = code_path.read_text()
    code_path.unlink()
    scope = dict(namespace)
    stand_ins = _stand_ins.AskTheGrader(directory, (namespace, scope))
    execute(code, Recorder(directory, np.random.default_rng(seed), stand_ins), scope)
