"""What a probe hands back, as both sides read it: `records.json` and `<n>.npy` in the probe's folder.

`records.json` is {"values": {name: {"kind": "json", "value": ...} | {"kind": "array", "file": "<n>.npy"} |
{"kind": "unsupported", "value": type name}}, "error": exception type or null}. The kernel side
(`cnnlab.grading.probes._kernel`) writes it; the grader (`cnnlab.grading.probes.judge`) reads it.
"""

import numpy as np

RECORDS = "records.json"
CODE = "probe.py"
MAX_RECORDS = 1000
JSON_TYPES = (str, bool, type(None))


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
