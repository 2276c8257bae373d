"""Probed tests: a PROBE block runs in the student's kernel and records plain values (`_kernel`, `_stand_ins`: they run
under the student's control), the grader judges them with the test's EXPECT rules (`judge`) against the values
the solution computes for the same inputs in the worker's reference kernel (`reference_kernel`), which also
answers the stand-ins' calls (`channel`). `wire` is the format both sides read.

Solution notebooks import `self_check` from here for their plain runs."""

from cnnlab.grading.probes.selfcheck import self_check

__all__ = ["self_check"]
