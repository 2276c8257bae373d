"""The one error the grading library raises for what the instructor must fix (a missing lab, missing data, a bad
argument or lab config): its message says what was wrong and the fix; the CLIs print it as one line.

A `ValueError`, so the callers that already turn bad input into one line (`cnnlab`'s main) keep doing so."""


class GradingError(ValueError):
    """The grader cannot go on; the message says what was wrong and what to do."""
