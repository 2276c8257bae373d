"""The term's grading rules, kept with the course in `autograder/course.toml` (data, not code):

    [grading]
    time_zone = "Europe/Paris"    # due dates without an offset, and the local times some LMSs give, are read in it
    overrides = "overrides.csv"   # the instructors' overrides, relative to course.toml (`results.overrides`)

    [grading.late]                # every lab's late policy; a lab's own [labs.<lab>.late] changes any key
    grace_minutes = 15            # submitted up to this long after the due date: on time
    per = "day"                   # the penalty counts each started day ("day") or hour ("hour") after the due date
    penalty_percent = 10          # per day (or hour), in percent of the lab's points (penalty_of = "points") or
    penalty_of = "points"         # of the student's own score ("score")
    cap_percent = 50              # the most a late submission loses
    lms_late_marker = "minimum"   # a submission the LMS marks late without giving its time (Canvas's LATE):
                                  # "minimum" (one day's or hour's penalty) or "ignore" (none)

    [labs.lab1_convolution]
    due = "2026-03-02 23:59"      # in time_zone, or ISO 8601 with an offset; no due date: nothing is late
    canvas_column = "Lab 1: Convolution (4521)"   # the Canvas gradebook's column, as its export names it

    [labs.lab1_convolution.extensions]            # by LMS id: a new due date, or a delay after the due date
    "12345" = "2026-03-05 23:59"
    "67890" = "2d"                                # "2d", "36h", "90m"

A lab without a table has no due date. Errors name the key, what was expected and the fix (`GradingError`).
"""

import datetime
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cnnlab.grading.errors import GradingError

PER = {"day": 24 * 60, "hour": 60}
OF = ("points", "score")
MARKER = ("minimum", "ignore")
DELAY = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[dhm])")


@dataclass
class LatePolicy:
    grace_minutes: float = 0.0
    per: str = "day"
    penalty_percent: float = 0.0
    penalty_of: str = "points"
    cap_percent: float = 100.0
    lms_late_marker: str = "minimum"


@dataclass
class LabRules:
    """One lab's due date, late policy, extensions and LMS names: what the final grade is computed with."""

    lab: str
    due: str | None = None  # ISO 8601 with offset
    policy: LatePolicy = field(default_factory=LatePolicy)
    extensions: dict = field(default_factory=dict)  # LMS id -> due date (ISO 8601 with offset)
    canvas_column: str | None = None
    time_zone: str | None = None

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, data):
        data = dict(data)
        data["policy"] = LatePolicy(**data.get("policy", {}))
        return cls(**data)

    def due_for(self, student):
        """(the student's due date as a datetime or None, True when it is an extension)."""
        if student in self.extensions:
            return datetime.datetime.fromisoformat(self.extensions[student]), True
        return (datetime.datetime.fromisoformat(self.due), False) if self.due else (None, False)


@dataclass
class Term:
    path: str | None = None
    time_zone: str | None = None
    overrides: Path | None = None
    labs: dict = field(default_factory=dict)  # lab -> its TOML table
    late: dict = field(default_factory=dict)  # [grading.late]

    def zone(self):
        """The course's time zone (`zoneinfo.ZoneInfo`), or None."""
        if self.time_zone is None:
            return None
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.time_zone)

    def rules(self, lab):
        """The `LabRules` of `lab` (no due date when course.toml has no [labs.<lab>] table)."""
        table = dict(self.labs.get(lab, {}))
        where = f"{self.path}: [labs.{lab}]"
        unknown = set(table) - {"due", "canvas_column", "late", "extensions"}
        if unknown:
            raise GradingError(
                f"{where}: unknown keys {sorted(unknown)}; expected due, canvas_column, late, extensions"
            )
        policy = _policy({**self.late, **table.get("late", {})}, f"{where} late")
        due = _moment(table["due"], self.zone(), f"{where} due") if "due" in table else None
        extensions = {}
        for student, value in table.get("extensions", {}).items():
            extensions[str(student)] = _extension(value, due, self.zone(), f"{where} extensions {student!r}")
        canvas_column = table.get("canvas_column")
        if canvas_column is not None and not isinstance(canvas_column, str):
            raise GradingError(f"{where} canvas_column: expected a string. Received: {canvas_column!r}")
        return LabRules(
            lab,
            due.isoformat() if due else None,
            policy,
            {k: v.isoformat() for k, v in extensions.items()},
            canvas_column,
            self.time_zone,
        )


def _policy(table, where):
    known = set(LatePolicy.__dataclass_fields__)
    unknown = set(table) - known
    if unknown:
        raise GradingError(f"{where}: unknown keys {sorted(unknown)}; expected {', '.join(sorted(known))}")
    policy = LatePolicy(**table)
    for key in ("grace_minutes", "penalty_percent", "cap_percent"):
        value = getattr(policy, key)
        if not isinstance(value, (int, float)) or value < 0 or (key != "grace_minutes" and value > 100):
            raise GradingError(f"{where} {key}: expected a number, 0 to 100 for a percent. Received: {value!r}")
    for key, allowed in (("per", tuple(PER)), ("penalty_of", OF), ("lms_late_marker", MARKER)):
        if getattr(policy, key) not in allowed:
            raise GradingError(
                f"{where} {key}: expected one of {', '.join(allowed)}. Received: {getattr(policy, key)!r}"
            )
    return policy


def _moment(value, zone, where):
    """A TOML date-time or string as an aware datetime (in the course's time zone when it has no offset)."""
    if isinstance(value, datetime.datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            when = None
        if when is None:
            raise GradingError(
                f"{where}: expected a date and time like '2026-03-02 23:59' (in the course's time_zone) or "
                f"'2026-03-02T23:59:00+01:00'. Received: {value!r}"
            )
    else:
        raise GradingError(f"{where}: expected a date and time like '2026-03-02 23:59'. Received: {value!r}")
    if when.tzinfo is None:
        if zone is None:
            raise GradingError(
                f"{where}: {value!r} has no UTC offset and [grading] sets no time_zone; set time_zone "
                f"(e.g. time_zone = \"Europe/Paris\") or write the offset ('2026-03-02T23:59:00+01:00')"
            )
        when = when.replace(tzinfo=zone)
    return when


def _extension(value, due, zone, where):
    """An extension: a due date, or a delay ("2d", "36h", "90m") after the lab's due date."""
    delay = DELAY.fullmatch(value.replace(" ", "")) if isinstance(value, str) else None
    if delay is None:
        return _moment(value, zone, where)
    if due is None:
        raise GradingError(f"{where}: a delay ({value!r}) needs the lab's due date: set `due`, or give a date")
    minutes = float(delay.group("number")) * {"d": 24 * 60, "h": 60, "m": 1}[delay.group("unit")]
    return due + datetime.timedelta(minutes=minutes)


def load(path):
    """The `Term` of the course file at `path` (an empty one, with no due dates, when there is no file)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = Path(path)
    if not path.exists():
        return Term(str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise GradingError(f"{path}: not readable as TOML ({error})") from None
    grading = data.get("grading", {})
    unknown = set(grading) - {"time_zone", "overrides", "late"}
    if unknown:
        raise GradingError(f"{path}: [grading] has unknown keys {sorted(unknown)}; expected time_zone, overrides, late")
    time_zone = grading.get("time_zone")
    if time_zone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise GradingError(
                f"{path}: [grading] time_zone {time_zone!r} is not a time zone; use an IANA name like "
                f"'Europe/Paris' or 'America/New_York'"
            ) from None
    overrides = grading.get("overrides")
    labs = data.get("labs", {})
    if not isinstance(labs, dict) or not all(isinstance(v, dict) for v in labs.values()):
        raise GradingError(f"{path}: [labs] holds one table per lab, [labs.<lab>]")
    term = Term(str(path), time_zone, (path.parent / overrides) if overrides else None, labs, grading.get("late", {}))
    _policy(term.late, f"{path}: [grading.late]")
    return term
