"""What grading produces and keeps: a submission's `result` and `status`, the files of `--out` (`store`), nbgrader's
`gradebook` and the class `report`."""
