"""The course as the grader reads it: the nbgrader course of a lab, and the lab's config of model checks."""
