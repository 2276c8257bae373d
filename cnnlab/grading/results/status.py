"""A submission's status (a `result.GradingResult` has one).

The worker's statuses are ordered by severity: a later note can raise a result's status, never lower it
(`graded` < `error` < `timeout` < `tampered`). The others are set once, for the whole submission:

- `missing`: nothing to grade for this student (no notebook for the lab);
- `rejected`: intake refused what was submitted (a symbolic link, a name that is not a student id);
- `grader_error`: the grader failed, not the student: no score is recorded and the next run grades it again.

`missing` and ordinary statuses go into nbgrader's gradebook; `rejected` and `grader_error` do not.
"""

from enum import Enum


class Status(str, Enum):
    GRADED = "graded"
    ERROR = "error"
    TIMEOUT = "timeout"
    TAMPERED = "tampered"
    MISSING = "missing"
    REJECTED = "rejected"
    GRADER_ERROR = "grader_error"

    def __str__(self):
        return self.value

    @property
    def severity(self):
        """The order in which notes raise a status (graded < error < timeout < tampered); None for the others."""
        order = (Status.GRADED, Status.ERROR, Status.TIMEOUT, Status.TAMPERED)
        return order.index(self) if self in order else None

    def raised_to(self, other):
        """This status after a note of status `other`: the more severe of the two."""
        other = Status(other)
        if self.severity is None or other.severity is None:
            raise ValueError(
                f"only {', '.join(s.value for s in Status if s.severity is not None)} are ordered. "
                f"Received: {self.value} and {other.value}"
            )
        return other if other.severity > self.severity else self

    @property
    def in_gradebook(self):
        return self not in (Status.REJECTED, Status.GRADER_ERROR)

    @property
    def regrade(self):
        """Graded again on the next run, whatever its files."""
        return self is Status.GRADER_ERROR


STATUSES = tuple(s.value for s in Status)
