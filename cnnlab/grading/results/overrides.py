"""The instructors' overrides, a CSV file kept with the course (`autograder/overrides.csv`, or [grading] overrides
in course.toml, or `--overrides FILE`), read on every run and applied in every output: a rerun never reverts them.

    student,lab,test,points,reason,who
    12345,lab1_convolution,test_conv2d,2,"answer right, shape transposed: accepted",JD
    67890,lab1_convolution,total,+1,regrade request 14 March,JD
    24680,lab1_convolution,total,10,"medical certificate: late penalty waived",JD

- `student`: the LMS id (the id of every output); `lab`: the lab's folder name;
- `test`: a test's grade_id (its score is replaced or adjusted, before the late penalty), or `total` (the final
  score, after the late penalty: the instructor's last word);
- `points`: a number sets the score (`2`); a signed number adjusts it (`+1`, `-0.5`). A test's score stays within
  0 and its points, a total within 0 and the lab's points: an override outside is refused (an error), not cut;
- `reason` and `who`: required; the student's feedback shows the reason, the class report both.

Several overrides of one student, lab and test apply in the order of the file.
"""

import csv
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from cnnlab.grading.errors import GradingError

COLUMNS = ("student", "lab", "test", "points", "reason", "who")
NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
TOTAL = "total"


@dataclass
class Override:
    student: str
    lab: str
    test: str
    points: str  # as written: "2" sets, "+1" / "-0.5" adjusts
    reason: str
    who: str
    line: int

    @property
    def relative(self):
        return self.points.startswith(("+", "-"))

    def apply(self, score):
        """The score after this override."""
        return score + float(self.points) if self.relative else float(self.points)

    def to_json(self):
        return asdict(self)


def read(path):
    """The overrides in `path`, in file order (none when the file does not exist); GradingError on a bad row."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise GradingError(
                f"{path}: the overrides file needs the columns {', '.join(COLUMNS)}; it lacks {', '.join(missing)}"
            )
        overrides = []
        for number, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            if not any(row.values()):
                continue
            where = f"{path} line {number}"
            empty = [c for c in COLUMNS if not row[c]]
            if empty:
                raise GradingError(
                    f"{where}: {', '.join(empty)} empty; every override names the student, lab, test (or "
                    f"'total'), points, the reason and who decided"
                )
            if not NUMBER.fullmatch(row["points"]):
                raise GradingError(
                    f"{where}: points {row['points']!r} is not a number; write 2 to set the score, +1 or -0.5 "
                    f"to adjust it"
                )
            overrides.append(Override(*(row[c] for c in COLUMNS), number))
    return overrides


def applying(overrides, student, lab):
    """The overrides of one student's lab, in file order."""
    return [o for o in overrides if o.student == student and o.lab == lab]
