"""What travels through a probe's folder, as both sides read it.

What a probe hands back: `records.json` and `<n>.npy`. `records.json` is {"values": {name: {"kind": "json",
"value": ...} | {"kind": "array", "file": "<n>.npy"} | {"kind": "unsupported", "value": type name}}, "error":
exception type or null}. The kernel side (`cnnlab.grading.probes._kernel`) writes it; the grader
(`cnnlab.grading.probes.judge`) reads it.

A stand-in's call and its answer (`cnnlab.grading.probes._stand_ins` asks, `cnnlab.grading.probes.channel`
answers): the kernel writes `call-<n>.json`, {"function": name, "args": [packed], "kwargs": {name: packed}}; the
grader writes `answer-<n>.json`, {"value": packed} or {"error": exception type, "message": str}. A packed value
is JSON that `unpack` turns back into the same types: numbers, str, bool, None, lists, {"tuple": [...]},
{"dict": {str: ...}}, {"float": "nan" | "inf" | "-inf"}, {"array": nested lists, "dtype": str, "shape": [...]}.
"""

import math
import re

import numpy as np

RECORDS = "records.json"
CODE = "probe.py"
MAX_RECORDS = 1000
JSON_TYPES = (str, bool, type(None))
CALL = re.compile(r"call-(\d{1,6})\.json")
MAX_DEPTH = 32  # nesting of a packed value
MAX_NUMBERS = 4_000_000  # numbers in one call's arguments
MAX_TEXT = 10_000  # characters of one str argument


def plain(value):
    """A JSON value for str/bool/None and nested lists, tuples and str-keyed dicts of them and of numbers, else None."""
    if isinstance(value, JSON_TYPES):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = value.item() if isinstance(value, np.generic) else value
        return number if np.isfinite(number) else None
    if isinstance(value, (list, tuple)):
        items = [plain(v) for v in value]
        return None if any(i is None and v is not None for i, v in zip(items, value, strict=False)) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: plain(v) for k, v in value.items()}
        return None if any(items[k] is None and value[k] is not None for k in value) else items
    return None


def encode(value):
    """("json", value) or ("array", ndarray) for one recorded value; ("unsupported", type name) otherwise.

    Numbers and nested tuples of numbers and strings (shapes, counts) are JSON; arrays and tensors are
    arrays of a numeric dtype."""
    if isinstance(value, (list, tuple, dict)) or isinstance(value, JSON_TYPES) or np.isscalar(value):
        converted = plain(value)
        if converted is not None or value is None:
            return "json", converted
    try:
        array = np.asarray(value)
    except Exception:
        return "unsupported", type(value).__name__
    if array.dtype.kind not in "biufc":
        return "unsupported", type(value).__name__
    return "array", array


class NotPlain(Exception):
    """A value that does not travel as a packed value (a model, a tensor, a function); the message names its type."""


def pack(value):
    """The packed JSON form of `value` (see the module's docstring); NotPlain for any other type."""
    if isinstance(value, (bool, str, type(None))):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else {"float": repr(float(value))}
    if isinstance(value, tuple):
        return {"tuple": [pack(item) for item in value]}
    if isinstance(value, list):
        return [pack(item) for item in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: pack(v) for k, v in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"array": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    raise NotPlain(type(value).__name__)


def unpack(data):
    """The value a packed form stands for (trusted data: `check_packed` first where the kernel wrote it)."""
    if isinstance(data, list):
        return [unpack(item) for item in data]
    if isinstance(data, dict):
        if "tuple" in data:
            return tuple(unpack(item) for item in data["tuple"])
        if "dict" in data:
            return {k: unpack(v) for k, v in data["dict"].items()}
        if "float" in data:
            return float(data["float"])
        return np.array(data["array"], dtype=data["dtype"]).reshape(data["shape"])
    return data


def check_packed(data, budget=None, depth=0):
    """Raise ValueError unless `data` (parsed from the kernel's JSON) is a packed value within the limits; returns
    the count of numbers it holds. The grader runs this on a stand-in's call before the reference sees it."""
    budget = [MAX_NUMBERS] if budget is None else budget
    if depth > MAX_DEPTH:
        raise ValueError(f"arguments nested more than {MAX_DEPTH} levels deep")
    if isinstance(data, bool) or data is None:
        count = 0
    elif isinstance(data, (int, float)):
        count = 1
    elif isinstance(data, str):
        if len(data) > MAX_TEXT:
            raise ValueError(f"a str argument of more than {MAX_TEXT} characters")
        count = 0
    elif isinstance(data, list):
        count = sum(check_packed(item, budget, depth + 1) for item in data)
    elif isinstance(data, dict) and len(data) == 1 and isinstance(data.get("tuple"), list):
        count = sum(check_packed(item, budget, depth + 1) for item in data["tuple"])
    elif isinstance(data, dict) and len(data) == 1 and isinstance(data.get("dict"), dict):
        count = sum(check_packed(item, budget, depth + 1) for item in data["dict"].values())
    elif isinstance(data, dict) and len(data) == 1 and data.get("float") in ("nan", "inf", "-inf"):
        count = 1
    elif isinstance(data, dict) and set(data) == {"array", "dtype", "shape"}:
        count = _check_array(data)
    else:
        raise ValueError(f"an argument the grader does not pass on ({type(data).__name__})")
    budget[0] -= count
    if budget[0] < 0:
        raise ValueError(f"arguments holding more than {MAX_NUMBERS:,} numbers")
    return count


def _check_array(data):
    shape, dtype = data["shape"], data["dtype"]
    if not (isinstance(shape, list) and len(shape) <= MAX_DEPTH and all(type(d) is int and d >= 0 for d in shape)):
        raise ValueError("an array whose shape is not a list of sizes")
    if not isinstance(dtype, str) or len(dtype) > 8:
        raise ValueError("an array whose dtype is not a numeric one")
    try:
        kind = np.dtype(dtype)
    except Exception:
        raise ValueError(f"an array of dtype {dtype[:8]!r}") from None
    if kind.kind not in "biuf" or kind.itemsize > 8:
        raise ValueError(f"an array of dtype {dtype!r}")
    size = math.prod(shape)
    if size > MAX_NUMBERS:
        raise ValueError(f"an array of more than {MAX_NUMBERS:,} numbers")
    try:  # (NumPy reads the nested lists at C speed; a ragged or non-numeric one raises)
        values = np.array(data["array"], dtype=np.float64)
    except Exception:
        raise ValueError("an array whose values are not numbers of one shape") from None
    if values.shape != tuple(shape):
        raise ValueError("an array whose values do not fill its shape")
    return size
