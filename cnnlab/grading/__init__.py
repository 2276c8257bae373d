"""The autograder: grade a class's lab submissions with nbgrader, robustly (see autograder/README.md)."""
