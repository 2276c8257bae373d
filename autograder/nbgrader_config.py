"""nbgrader's configuration for the course: solutions/ is nbgrader's source, labs/ its release.

The course root is the repository root, so `nbgrader ... --config autograder/nbgrader_config.py`
works from anywhere. `make labs` (autograder/make_labs.py) runs `nbgrader generate_assignment`
with this file in a scratch course whose solutions/ links to ours, so nothing but labs/ changes here.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)

c.CourseDirectory.root = str(Path(__file__).resolve().parent.parent)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
# Models trained while writing a solution stay out of the students' copy.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.keras"]
