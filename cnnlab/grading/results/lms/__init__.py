"""What the grader writes for an LMS to import: its gradebook file and the students' feedback, named so that it
matches each file to its student (one module per LMS)."""
