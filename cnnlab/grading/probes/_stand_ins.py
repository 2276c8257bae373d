"""Stand-ins for the other tasks a probed test relies on, in the student's kernel: the grader answers each call.

`with probe.using_reference("conv2d"):` in a PROBE block replaces the notebook's `conv2d` while the block runs. In
a student's kernel the stand-in asks the grader: it writes the call's arguments in the probe's folder
(`call-<n>.json`, packed as `cnnlab.grading.probes.wire` says) and waits for `answer-<n>.json`, which the grader
writes after the solution's own `conv2d` ran on those arguments in the reference's kernel. So a bug in `conv2d`
costs test_conv2d its points, not also those of every task whose function calls it; and the kernel holds no table
of the reference's values: it learns what the solution returns for the calls its own code makes, in this test,
and nothing else (the grader answers only the functions this test names, and only while its probe runs).

A call whose arguments do not travel as plain values (a model, a Keras tensor) is answered by the student's own
function. `stand_ins=` (name=function: cnnlab's public block for a task that builds Keras layers) replaces the
notebook's function of that name, in the reference's kernel and the student's alike.
"""

import builtins
import contextlib
import json
import time
from pathlib import Path

from cnnlab.grading.probes.wire import NotPlain, pack, unpack


@contextlib.contextmanager
def replaced(namespaces, functions):
    """Within the block each of `functions` (name: function) is bound in every one of `namespaces` (dicts of
    globals); afterwards each name is as it was."""
    saved = [{name: space[name] for name in functions if name in space} for space in namespaces]
    try:
        for space in namespaces:
            space.update(functions)
        yield
    finally:
        for space, before in zip(namespaces, saved, strict=False):
            for name in functions:
                space.pop(name, None)
            space.update(before)


class GivenOnly:
    """The stand-ins of the reference's kernel: the solution's own functions answer, `stand_ins=` replace theirs."""

    def __init__(self, namespaces):
        self.namespaces = namespaces

    def using(self, names, given):
        return replaced(self.namespaces, dict(given))


class AskTheGrader:
    """The stand-ins of a student's probe run: each call of a named function is answered by the grader."""

    def __init__(self, directory, namespaces):
        self.directory, self.namespaces = Path(directory), namespaces
        self.calls = 0

    def using(self, names, given):
        first = self.namespaces[0]
        functions = {name: self.stand_in(name, first[name]) for name in names if callable(first.get(name))}
        functions.update(given)
        return replaced(self.namespaces, functions)

    def stand_in(self, name, own):
        def stand_in(*args, **kwargs):
            try:
                packed = [pack(a) for a in args], {k: pack(v) for k, v in kwargs.items()}
            except NotPlain:
                return own(*args, **kwargs)
            return self.ask({"function": name, "args": packed[0], "kwargs": packed[1]})

        stand_in.__name__ = stand_in.__qualname__ = name
        return stand_in

    def ask(self, call):
        """The grader's answer to one call: its value, or the exception the solution's function raised."""
        number, self.calls = self.calls, self.calls + 1
        part, answer = self.directory / f"call-{number}.part", self.directory / f"answer-{number}.json"
        part.write_text(json.dumps(call))
        part.rename(self.directory / f"call-{number}.json")
        delay = 0.0002
        while not answer.exists():  # the cell's time limit interrupts a wait that never ends
            time.sleep(delay)
            delay = min(2 * delay, 0.01)
        reply = json.loads(answer.read_text())
        answer.unlink()
        if "value" in reply:
            return unpack(reply["value"])
        kind = getattr(builtins, str(reply.get("error")), None)
        kind = kind if isinstance(kind, type) and issubclass(kind, Exception) else RuntimeError
        raise kind(f"{call['function']} (the reference's, standing in for yours): {reply.get('message', '')}")
