"""Inside the reference's kernel (trusted: the grader's interpreter running the solution notebook, never a
student's code): each probed test's namespace as the solution left it, a probe run for a submission's seed, and
the solution's answer to a stand-in's call. `cnnlab.grading.probes.reference_kernel` drives it, one call a cell.

The data a stand-in's call carries was written by a student's kernel; the grader checked its form
(`wire.check_packed`) before it came here, and whatever the solution's function does with it (raise, run out of
time or memory) is the answer to that call.
"""

import json
from pathlib import Path

import numpy as np

from cnnlab.grading.probes import _kernel, _stand_ins
from cnnlab.grading.probes.wire import pack, unpack

_SNAPSHOTS = {}  # grade_id: the notebook's globals just after the test's visible part ran


def snapshot(grade_id, namespace):
    """Keep the names the notebook had after test `grade_id`'s visible part: its probe runs in a copy of them."""
    _SNAPSHOTS[grade_id] = dict(namespace)


def run_probe(grade_id, code_path, seed, folder, namespace):
    """Run the probe of test `grade_id` (its code in `code_path`) with `probe.rng` seeded by `seed`, recording into
    `folder`. `namespace`: the kernel's live globals, where `stand_ins=` go (the solution's functions look their
    helpers up there)."""
    scope = dict(_SNAPSHOTS[grade_id])
    recorder = _kernel.Recorder(folder, np.random.default_rng(seed), _stand_ins.GivenOnly((namespace, scope)))
    _kernel.execute(Path(code_path).read_text(), recorder, scope)


def answer(grade_id, call_path, answer_path):
    """Write the solution's answer to one stand-in call of test `grade_id`'s probe at `answer_path`."""
    call = json.loads(Path(call_path).read_text())
    try:
        function = _SNAPSHOTS[grade_id][call["function"]]
        args = [unpack(a) for a in call["args"]]
        kwargs = {k: unpack(v) for k, v in call["kwargs"].items()}
        reply = {"value": pack(function(*args, **kwargs))}
    except Exception as error:  # the student's arguments made the solution's function fail: that is the answer
        reply = {"error": type(error).__name__, "message": str(error)[:300]}
    Path(answer_path).write_text(json.dumps(reply))
