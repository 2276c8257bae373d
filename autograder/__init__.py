"""The course's nbgrader configuration and the grading command (`python -m autograder`, from the repository root)."""
