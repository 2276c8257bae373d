"""Inside a jail: the model server. It imports Keras once, then forks a fresh child for each model file; the
child loads that one student's `.keras` file, measures it, writes plain data and exits.

`python -m cnnlab.grading.modelcheck._probe SCRATCH` (started by `cnnlab.grading.modelcheck.server` through the jail and
`cnnlab.grading.jail._inside`; SCRATCH is the only folder it may write). Messages on stdin and stdout are frames (an
8-byte length, then JSON), one model at a time:

- the server sends `{"ready": seconds}` once Keras is imported;
- the grader puts the model at `SCRATCH/model.keras` and sends `{"measures": [...]}` (one per check of the lab's
  config, thresholds and points left out; for predictions, a `.npy` file of test images, never the labels);
- the server forks a child, sends `{"forked": true}`, waits for it and sends `{"exit": code, "tainted": why}`.
  The child writes, in SCRATCH, `probe.json`: {"load_error": str | null, "seconds": {"load": s, "measures": s},
  "values": [one per measure: int, list, or {"outputs": "outputs-<i>.npy"}, or {"error": str}]} and the
  `outputs-<i>.npy` of the model's raw outputs on the images of measure i (float32; no pickle).

The server never reads a model file. Each child starts from the server's state after its imports, not from the
previous child's. The server is not dumpable (no child may trace it or read its memory), and a child that leaves
anything behind (a process, a System V IPC object) taints it: the server kills what was left, says why and
exits, and the grader starts a fresh one. Scoring
(thresholds, accuracy, Dice, points) happens in the grader's process, on this data.
"""

import contextlib
import ctypes
import gc
import json
import os
import signal
import sys
import time
import zipfile
from pathlib import Path

from cnnlab import startup
from cnnlab.grading.modelcheck.wire import receive, send

PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 4, 36


def _shape(shape):
    return [None if d is None else int(d) for d in shape]


def measure(model, spec, folder, index):
    """One measured value: params, output_shape, ops, or the model's outputs on the given images."""
    import numpy as np

    kind = spec["kind"]
    if kind == "params":
        if spec.get("trainable"):
            return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
        return int(model.count_params())
    if kind == "output_shape":
        shapes = [_shape(o.shape) for o in model.outputs]  # model.outputs: a Sequential model has no .output
        return shapes[0] if len(shapes) == 1 else shapes
    if kind == "ops":
        from cnnlab.profile import profile

        return int(
            profile(
                model,
                convention=spec.get("convention", "deck"),
                rows="layers",
                softmax_ops=spec.get("softmax_ops", True),
            ).total_ops
        )
    if kind == "outputs":
        x = np.load(spec["images"], allow_pickle=False)
        spatial = len(model.outputs[0].shape) > 2
        outputs = model.predict(x, batch_size=spec.get("batch_size") or (4 if spatial else 500), verbose=0)
        name = f"outputs-{index}.npy"
        np.save(Path(folder) / name, np.asarray(outputs, dtype="float32"), allow_pickle=False)
        return {"outputs": name}
    raise ValueError(f"unknown measure {kind!r}")


def probe(folder, measures):
    """The child's work: load `folder/model.keras`, measure it, write `probe.json` (and the outputs) there."""
    import keras

    result = {"load_error": None, "values": [], "seconds": {}}
    started = time.monotonic()
    path = folder / "model.keras"
    try:
        with zipfile.ZipFile(path) as archive:  # checked by cnnlab.grading.modelcheck.inspection before
            if b"cnnlab>FanInUniform" in archive.read("config.json"):
                import cnnlab.train.recipes  # noqa: F401  (registers FanInUniform; imports TensorFlow)
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # the student's file: its error is the reason
        result["load_error"] = f"{type(error).__name__}: {str(error)[:300]}"
        model = None
    result["seconds"]["load"] = round(time.monotonic() - started, 3)
    started = time.monotonic()
    if model is not None:
        for index, spec in enumerate(measures):
            try:
                result["values"].append(measure(model, spec, folder, index))
            except Exception as error:
                result["values"].append({"error": f"{type(error).__name__}: {str(error)[:200]}"})
    result["seconds"]["measures"] = round(time.monotonic() - started, 3)
    (folder / "probe.json.tmp").write_text(json.dumps(result))
    (folder / "probe.json.tmp").rename(folder / "probe.json")


def _import_keras():
    startup.skip_unused_imports()  # 0.9 s of each server's start on the course's 2-core machine
    import keras  # noqa: F401

    import cnnlab.blocks  # noqa: F401  (registers cnnlab's layers for deserialization)
    import cnnlab.profile  # noqa: F401

    if os.environ.get("KERAS_BACKEND") == "tensorflow":
        import cnnlab.train.recipes  # noqa: F401  (FanInUniform; TensorFlow is imported already)


def _left_running():
    """This process's children: after a check's child was waited for, what it left running. (The server is a
    child subreaper: an orphan of the check, or of its descendants, becomes its child.)"""
    me, left = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:  # ended meanwhile
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == me:
            left.append(int(pid))
    return left


def _ipc_objects():
    """The System V shared memory segments, semaphores and message queues this process sees (a child's could
    outlive it in the jail's IPC namespace)."""
    objects = set()
    for kind in ("shm", "sem", "msg"):
        try:
            objects |= {(kind, line) for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]}
        except OSError:
            pass
    return objects


def _taint(ipc):
    """Why the server must not start another check, or ""; what a check left running is killed."""
    left = _left_running()
    if left:
        for _ in range(100):  # a child of one that is killed becomes ours: until none is left
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):  # reap them (none left: ChildProcessError)
                while os.waitpid(-1, os.WNOHANG)[0] > 0:
                    pass
            if not (left := _left_running()):
                break
            time.sleep(0.01)
        return "the check left processes running"
    if _ipc_objects() - ipc:
        return "the check left System V IPC objects"
    return ""


def _child(folder, measures):
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # the grader's channel: never the student's code's
    os.dup2(devnull, 1)
    code = 0
    try:
        probe(folder, measures)
    except BaseException:  # no probe.json: the grader says the check died
        code = 1
    os._exit(code)  # no exit handlers, no collector pass: the child's work is written


def serve(folder):
    started = time.monotonic()
    _import_keras()
    gc.collect()
    gc.freeze()  # the children share the imported objects' pages instead of copying them at their first collection
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # a child's orphans become ours
    ipc = _ipc_objects()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    send(stdout, {"ready": round(time.monotonic() - started, 3)})
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # what the children print is nobody's: the grader's log stays small
    while (request := receive(stdin)) is not None:
        pid = os.fork()
        if pid == 0:
            _child(folder, request["measures"])
        send(stdout, {"forked": True})
        _, status = os.waitpid(pid, 0)
        tainted = _taint(ipc)
        send(stdout, {"exit": os.waitstatus_to_exitcode(status), "tainted": tainted})
        if tainted:
            return  # the jail ends with this process


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    serve(Path(argv[0]))


if __name__ == "__main__":
    main()
