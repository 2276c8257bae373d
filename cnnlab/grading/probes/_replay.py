"""Stand-ins for the other tasks a probed test relies on: the reference's own answers, replayed.

`with probe.using_reference("layer_counts"):` in a PROBE block replaces the notebook's `layer_counts` while the
block runs. In the reference's kernel the stand-in calls the solution's function and keeps each call's arguments
and result (`Calls.save`). The grader hands those calls to the student's kernel, where the stand-in answers a call
the reference made with the reference's result, and any other call with the student's own function. So a bug in
`layer_counts` costs test_layer_counts its points, not also those of every task whose function calls it.

Only values travel, never the solution's code. Arguments match by value: arrays by shape and float64 contents,
numbers as floats, lists and tuples alike, each call's arguments bound to the function's signature with its
defaults (so `f(7, 3)` and `f(7, 3, stride=1)` are the same call).
"""

import contextlib
import hashlib
import inspect
import json
import math
from pathlib import Path

import numpy as np

RECORDED = "calls.json"  # what the reference's kernel leaves in its probe folder
REPLAYED = "replay.json"  # what the grader puts in a student's probe folder, read and deleted by its kernel
MAX_CALLS = 10_000


class Unkeyable(Exception):
    """An argument the stand-in cannot compare by value (a model, a function): the student's own function answers."""


def key(value):
    """A JSON-able form of an argument that equal values share."""
    if isinstance(value, (bool, str, type(None))):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else repr(number)
    if isinstance(value, (list, tuple)):
        return [key(item) for item in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": [[k, key(value[k])] for k in sorted(value)]}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        data = np.ascontiguousarray(value, dtype=np.float64)
        return {"array": list(data.shape), "sha256": hashlib.sha256(data.tobytes()).hexdigest()}
    raise Unkeyable(type(value).__name__)


def encode(value):
    """A JSON form of a result that `decode` turns back into the same types; raises Unkeyable for other types."""
    if isinstance(value, (bool, str, type(None))):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else {"float": repr(float(value))}
    if isinstance(value, tuple):
        return {"tuple": [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: encode(v) for k, v in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"array": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    raise Unkeyable(type(value).__name__)


def decode(data):
    if isinstance(data, list):
        return [decode(item) for item in data]
    if isinstance(data, dict):
        if "tuple" in data:
            return tuple(decode(item) for item in data["tuple"])
        if "dict" in data:
            return {k: decode(v) for k, v in data["dict"].items()}
        if "float" in data:
            return float(data["float"])
        return np.array(data["array"], dtype=data["dtype"]).reshape(data["shape"])
    return data


def call_key(signature, args, kwargs):
    """The key of one call: its arguments bound to the function's `signature`, defaults applied."""
    if signature is None:
        raise Unkeyable("a function without a signature")
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        raise Unkeyable("arguments that do not fit the function") from None
    bound.apply_defaults()
    return json.dumps([[name, key(value)] for name, value in bound.arguments.items()])


class Calls:
    """The reference's calls, by function name and call key: replayed when given, else recorded."""

    def __init__(self, replayed=None):
        self.replaying = replayed is not None
        self.calls = replayed if replayed is not None else {}

    @classmethod
    def load(cls, path):
        """The calls the grader left at `path` (then deleted), or recording ones when there is none."""
        path = Path(path)
        if not path.is_file():
            return cls()
        calls = json.loads(path.read_text())
        path.unlink()
        return cls(calls)

    def save(self, path):
        """The recorded calls as JSON at `path` (nothing when replaying or when none was made)."""
        if not self.replaying and self.calls:
            Path(path).write_text(json.dumps(self.calls))

    def stand_in(self, name, function):
        known = self.calls.setdefault(name, {})
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            signature = None

        def stand_in(*args, **kwargs):
            try:
                call = call_key(signature, args, kwargs)
            except Unkeyable:
                return function(*args, **kwargs)
            if self.replaying:
                if call in known:
                    return decode(known[call])
                return function(*args, **kwargs)
            result = function(*args, **kwargs)
            if call not in known and sum(map(len, self.calls.values())) < MAX_CALLS:
                try:
                    known[call] = encode(result)
                except Unkeyable:
                    pass
            return result

        stand_in.__name__ = stand_in.__qualname__ = name
        if signature is not None:
            stand_in.__signature__ = signature
        return stand_in

    @contextlib.contextmanager
    def using(self, namespaces, names, given=None):
        """Within the block, each of `names` is its stand-in in every one of `namespaces` (dicts of globals), and
        each of `given` (name: function) that function; all are put back as they were after it. A name of `names`
        that the first namespace lacks, or that is not callable there, is left."""
        first = namespaces[0]
        stand_ins = {name: self.stand_in(name, first[name]) for name in names if callable(first.get(name))}
        stand_ins.update(given or {})
        saved = [{name: space[name] for name in stand_ins if name in space} for space in namespaces]
        try:
            for space in namespaces:
                space.update(stand_ins)
            yield
        finally:
            for space, before in zip(namespaces, saved, strict=False):
                for name in stand_ins:
                    space.pop(name, None)
                space.update(before)
