"""The TA's page for the questions a person grades (`server`, `pages`). The TA's grades are kept by
`results.manual`, counted by `results.standing` and shown by `results.refresh`; each question's rubric is the lab's
(`course.rubric`)."""
