"""One submission, graded in a worker process, one step a module: `read`, `restore`, `plan`, `execute`, `score`,
`diagnose`, `feedback`; `main` runs them for each `job` the batch hands over."""
