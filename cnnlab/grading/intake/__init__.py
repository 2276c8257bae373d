"""What is graded against what: submissions found in an instructor's download, by student id."""
