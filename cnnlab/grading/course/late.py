"""How late a submission is, and what the course's policy takes for it (`term.LatePolicy`).

Lateness counts from the student's due date (the lab's, or their extension's): within `grace_minutes` a
submission is on time; after it, each started day (or hour) costs `penalty_percent`, up to `cap_percent`, of the
lab's points (or of the student's own score). Only a time the LMS gives counts (Gradescope's metadata, Blackboard's
file names, Moodle's grading worksheet); a submission the LMS marks late without a time (Canvas's LATE) costs one
day's (or hour's) penalty under `lms_late_marker = "minimum"`, nothing under "ignore", and nothing when the
student has an extension (the download cannot tell whether it was kept).
"""

import datetime
import math
from dataclasses import asdict, dataclass


@dataclass
class Late:
    """A submission's lateness, as the result's outputs and feedback show it."""

    due: str | None  # the student's due date (ISO 8601), their extension's when they have one
    extended: bool
    submitted_at: str | None
    time_source: str
    minutes_late: float | None  # None when the time is unknown or there is no due date
    units: int  # started days (or hours) counted
    percent: float  # of the lab's points (or of the score: `of`); `results.final.penalty` turns it into points
    of: str  # "points" or "score"
    sentence: str  # what the student reads

    def to_json(self):
        return asdict(self)


def _shown(when):
    return when.strftime("%Y-%m-%d %H:%M %Z").strip() or when.isoformat()


def _duration(minutes):
    hours, minutes = divmod(round(minutes), 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes or not days)
    return " ".join(parts)


def assess(rules, student, submitted_at, time_source, lms_late):
    """The `Late` of `student`'s submission under `rules` (`term.LabRules`)."""
    policy = rules.policy
    due, extended = rules.due_for(student)
    zone = _zone(rules.time_zone)
    unit = "day" if policy.per == "day" else "hour"
    penalty = f"{policy.penalty_percent:g}% of the {'lab' if policy.penalty_of == 'points' else 'score'}"
    shown_due = _shown(due.astimezone(zone) if zone else due) if due else None
    extension = f" (your extension; the lab's is {_shown(_local(rules.due, zone))})" if extended else ""

    def late(minutes, units, sentence):
        percent = min(policy.cap_percent, units * policy.penalty_percent)
        return Late(
            due.isoformat() if due else None,
            extended,
            submitted_at,
            time_source,
            minutes,
            units,
            percent,
            policy.penalty_of,
            sentence,
        )

    if submitted_at is None:
        if not lms_late:
            return late(None, 0, "no submission time: nothing is counted late")
        if extended:
            return late(None, 0, "the LMS marked it late but gives no time, and you have an extension: no penalty")
        if policy.lms_late_marker == "ignore" or due is None or not policy.penalty_percent:
            return late(None, 0, "the LMS marked it late; the course counts no penalty for that")
        return late(
            None,
            1,
            f"the LMS marked it late and gives no time: the smallest late penalty, one {unit}'s ({penalty})",
        )
    when = datetime.datetime.fromisoformat(submitted_at)
    shown_when = _shown(when.astimezone(zone) if zone else when)
    if due is None:
        return late(None, 0, f"submitted {shown_when}; the lab has no due date")
    minutes = (when - due).total_seconds() / 60
    if minutes <= 0:
        return late(0.0, 0, f"submitted {shown_when}, due {shown_due}{extension}: on time")
    if minutes <= policy.grace_minutes:
        return late(
            minutes,
            0,
            f"submitted {shown_when}, due {shown_due}{extension}: {_duration(minutes)} late, within the "
            f"{policy.grace_minutes:g} min of grace",
        )
    units = math.ceil(minutes / (24 * 60 if policy.per == "day" else 60))
    percent = min(policy.cap_percent, units * policy.penalty_percent)
    capped = f", capped at {policy.cap_percent:g}%" if percent < units * policy.penalty_percent else ""
    of = "the lab's points" if policy.penalty_of == "points" else "your score"
    return late(
        minutes,
        units,
        f"submitted {shown_when}, due {shown_due}{extension}: {_duration(minutes)} late, {units} started "
        f"{unit}{'s' * (units > 1)} at {policy.penalty_percent:g}% each{capped}: {percent:g}% of {of}",
    )


def _zone(name):
    if name is None:
        return None
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _local(iso, zone):
    when = datetime.datetime.fromisoformat(iso)
    return when.astimezone(zone) if zone else when
