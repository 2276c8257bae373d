"""The grader's side of a test: read what a probe handed back and judge it against the reference's values.

Runs in the grader's process only. `read_records` opens a probe's folder without following links, reads only
small regular files (`cnnlab.grading.jail.files`), and loads arrays with `allow_pickle=False`. `judge` runs the
test's EXPECT
block (the instructors' code, from the solution notebook) with `expect` bound to an `Expect` holding the
student's and the reference's records. A rule's message names the rule and the value's name, never the hidden
input or the expected value.

    expect.allclose("random", rtol=1e-5, atol=1e-4)   # numbers/arrays close to the reference's, same shape
    expect.equal("shape")                             # exactly the reference's value (arrays: shape and values)
    expect.check("maps", lambda y: y.min() >= 0, "ReLU: no negative values")   # a property of the student's value
"""

import io
import json
import os
from dataclasses import dataclass

import numpy as np

from cnnlab.grading.jail.files import JailedDataError, read_jailed
from cnnlab.grading.probes.wire import RECORDS

MAX_RECORDS_BYTES = 1 << 20
MAX_ARRAY_BYTES = 64 << 20
MAX_TOTAL_BYTES = 256 << 20


@dataclass
class Record:
    kind: str  # "json", "array" or "unsupported" (then value is the type's name)
    value: object


@dataclass
class Verdict:
    passed: bool
    failures: list[str]  # one message per failed rule
    rules: int


def read_records(directory):
    """({name: Record}, the probe's exception type or None) from one probe run's folder; JailedDataError when the
    folder holds anything a probe does not write (whatever the bytes: a huge integer, a dict for a list, ...)."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as error:
        raise JailedDataError(f"the probe's folder could not be opened ({error.strerror})") from None
    try:
        return records_in(dir_fd)
    finally:
        os.close(dir_fd)


def records_in(dir_fd):
    """`read_records` of the probe's folder held open as `dir_fd` (never reached by a path the kernel could swap)."""
    try:
        return _read(dir_fd)
    except JailedDataError:
        raise
    except Exception as error:  # noqa: BLE001 (the kernel wrote these bytes: any failure to read them is its own)
        raise JailedDataError(f"{RECORDS} holds what a probe does not write ({type(error).__name__})") from None


def _read(dir_fd):
    try:
        manifest = json.loads(read_jailed(RECORDS, dir_fd, MAX_RECORDS_BYTES))
    except (ValueError, RecursionError):  # (also an integer over Python's 4,300 digits)
        raise JailedDataError(f"{RECORDS} is not JSON (or nested too deeply)") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("values"), dict):
        raise JailedDataError(f"{RECORDS} does not hold a values object")
    error = manifest.get("error")
    records, total = {}, 0
    for name, entry in manifest["values"].items():
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind == "array":
            file = entry.get("file")
            if not isinstance(file, str) or not file.endswith(".npy") or not file[:-4].isdigit():
                raise JailedDataError(f"{name[:80]!r}: the array's file name is not one a probe writes")
            data = read_jailed(file, dir_fd, MAX_ARRAY_BYTES)
            total += len(data)
            if total > MAX_TOTAL_BYTES:
                raise JailedDataError(f"the probe's arrays are over the grader's {MAX_TOTAL_BYTES} bytes")
            try:
                array = np.load(io.BytesIO(data), allow_pickle=False)
            except Exception as failure:
                raise JailedDataError(f"{name[:80]!r}: not a NumPy array file ({type(failure).__name__})") from None
            if not isinstance(array, np.ndarray) or array.dtype.kind not in "biufc":
                raise JailedDataError(f"{name[:80]!r}: not a numeric array")
            records[name] = Record("array", array)
        elif kind in ("json", "unsupported"):
            records[name] = Record(kind, entry.get("value"))
        else:
            raise JailedDataError(f"{name[:80]!r}: unknown kind {str(kind)[:40]!r}")
    return records, error[:100] if isinstance(error, str) else None


def _numbers(record):
    """The record as a float or complex array, or None when it is not numeric."""
    if record.kind == "array":
        return record.value
    if record.kind == "json" and not isinstance(record.value, (str, dict)) and record.value is not None:
        try:
            array = np.asarray(record.value)
        except ValueError:
            return None
        return array if array.dtype.kind in "biufc" else None
    return None


class Expect:
    """`expect` in an EXPECT block: each call is one rule on a value the probe recorded."""

    def __init__(self, student, reference, probe_error=None):
        self.student, self.reference, self.probe_error = student, reference, probe_error
        self.failures, self.missing, self.rules = [], [], 0

    @property
    def names(self):
        """The names the reference's probe recorded, in order: `for name in expect.names: expect.equal(name)`."""
        return list(self.reference)

    def reference_value(self, name):
        """What the reference's probe recorded as `name` (an input it drew, for a rule that needs it)."""
        if name not in self.reference:
            raise ValueError(f"expect.reference_value({name!r}): the reference's probe did not record it")
        return self.reference[name].value

    def allclose(self, name, rtol=1e-7, atol=0.0, why=""):
        """The student's numbers have the reference's shape and |a - b| <= atol + rtol * |b| everywhere."""

        def rule(mine, theirs):
            a, b = _numbers(mine), _numbers(theirs)
            if b is None:
                raise ValueError(f"expect.allclose({name!r}): the reference's value is not numeric")
            if a is None:
                return f"{name!r} is not a number or a numeric array"
            if a.shape != b.shape:
                return f"{name!r} has shape {a.shape}, not the expected one"
            close = np.isclose(a, b, rtol=rtol, atol=atol)
            if not close.all():
                return (
                    f"{name!r}: {int((~close).sum())} of {close.size} values differ from the expected ones "
                    f"(rtol={rtol:g}, atol={atol:g})"
                )
            return ""

        self._rule(name, rule, why)

    def equal(self, name, why=""):
        """The student's value is exactly the reference's (arrays: same shape and values; numbers 2 == 2.0)."""

        def rule(mine, theirs):
            if mine.kind == "array" or theirs.kind == "array":
                a, b = _numbers(mine), _numbers(theirs)
                same = a is not None and b is not None and a.shape == b.shape and bool(np.array_equal(a, b))
            else:
                same = mine.kind == theirs.kind == "json" and mine.value == theirs.value
            return "" if same else f"{name!r} is not the expected value"

        self._rule(name, rule, why)

    def check(self, name, predicate, why):
        """predicate(the student's value) is true: for properties a test states (a shape, a sign, a sum)."""

        def rule(mine, theirs):
            value = mine.value if mine.kind != "unsupported" else None
            try:
                holds = bool(predicate(value))
            except Exception as error:
                return f"{name!r} fails a check ({type(error).__name__} while checking it)"
            return "" if holds else f"{name!r} fails a check"

        self._rule(name, rule, why)

    def _rule(self, name, rule, why):
        self.rules += 1
        if name in self.reference and name not in self.student:
            self.missing.append(name)
            return
        message = self._judge(name, rule)
        if message:
            self.failures.append(f"{message}: {why}" if why else message)

    def missing_message(self):
        """One message for every value the probe did not record, or ""."""
        if not self.missing:
            return ""
        unique = list(dict.fromkeys(self.missing))
        names = ", ".join(repr(n) for n in unique[:3])
        more = f" and {len(unique) - 3} more" if len(unique) > 3 else ""
        why = (
            f"the probe stopped with {self.probe_error} in your code"
            if self.probe_error
            else "the probe did not record them"
        )
        return f"{names}{more} missing: {why}"

    def _judge(self, name, rule):
        if name not in self.reference:
            raise ValueError(
                f"the test's rule names {name!r}, which the reference's probe did not record; "
                f"recorded: {', '.join(sorted(self.reference)) or 'nothing'}"
            )
        mine = self.student[name]
        if mine.kind == "unsupported":
            return f"{name!r} is a {str(mine.value)[:80]}, which the grader cannot compare"
        try:
            return rule(mine, self.reference[name])
        except Exception as error:  # noqa: BLE001 (the student's value: a NaN for a shape, a dict for a list, ...)
            return f"{name!r} could not be compared with the expected value ({type(error).__name__})"


def judge(expect_code, student, reference, probe_error=None, label="test"):
    """Run the EXPECT code against the records; a test with no rule is the lab author's error (ValueError)."""
    expect = Expect(student, reference, probe_error)
    exec(compile(expect_code, f"<expect {label}>", "exec"), {"expect": expect, "np": np})
    if not expect.rules:
        raise ValueError(f"{label}: its EXPECT block states no rule (expect.allclose, expect.equal, expect.check)")
    failures = ([expect.missing_message()] if expect.missing else []) + expect.failures
    return Verdict(passed=not failures, failures=failures, rules=expect.rules)


def check_solution(grade_id, test, records, error):
    """RuntimeError unless the solution's probe of `grade_id` ran through and its `records` pass the `test`'s rules
    (the lab author's to fix: its message says which test and what failed)."""
    if error:
        raise RuntimeError(f"{grade_id}: the solution's own probe stopped with {error}; fix its PROBE block")
    verdict = judge(test["expect"], records, records, label=grade_id)
    if not verdict.passed:
        raise RuntimeError(f"{grade_id}: the solution fails its own EXPECT rules ({'; '.join(verdict.failures)})")
