"""What grading produces and keeps: a submission's `result` and `status`, the TA's grades (`manual`) and a result's
`standing` with them, the final grade (`final`, `overrides`), the files of `--out` (`store`), the student's page
(`feedback_page`, `refresh`), nbgrader's `gradebook`, the LMS exports (`lms/`) and the class `report`."""
