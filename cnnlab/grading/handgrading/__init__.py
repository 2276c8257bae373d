"""Questions a person grades: the TA's grades (`grades`), a result's standing with them (`standing`), the rubric
(`rubric`), the TA's page (`server`, `pages`) and the feedback they change (`refresh`)."""
