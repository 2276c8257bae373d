"""`self_check()`: the `probe` and `expect` of a plain run of a solution notebook (an instructor's, or the tests'),
which check each test's rules against the solution's own values. The grader never runs this: it replaces the
hidden part of a test cell by the probe and judges the EXPECT block itself."""

import numpy as np

from cnnlab.grading.probes._kernel import Recorder
from cnnlab.grading.probes.judge import Expect, Record


def self_check(seed=0):
    """(probe, expect) for a plain run of a solution notebook: each rule is judged against the solution's values;
    `probe.rng` is seeded with `seed` (the grader seeds it per test and submission).

    A rule that fails on the solution itself (a typo in a name, a wrong predicate) raises AssertionError."""
    recorder = Recorder(rng=np.random.default_rng(seed))

    class Check(Expect):
        @property
        def names(self):
            return list(recorder.values)

        def _recorded(self):
            self.student = self.reference = {k: Record(kind, data) for k, (kind, data) in recorder.values.items()}

        def reference_value(self, name):
            self._recorded()
            return super().reference_value(name)

        def _rule(self, name, rule, why):
            self._recorded()
            super()._rule(name, rule, why)
            if self.failures:
                raise AssertionError(f"the test's rule fails on the solution's own values: {self.failures.pop()}")

    return recorder, Check({}, {})
