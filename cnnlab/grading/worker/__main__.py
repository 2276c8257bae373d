"""`python -m cnnlab.grading.worker --serve` (or `JOB.json`): a worker process (`cnnlab.grading.worker.main`),
which imports nbformat and nbgrader without the imports it never uses (`cnnlab.startup.skip_unused_imports`)."""

import sys

from cnnlab import startup

startup.skip_unused_imports()
from cnnlab.grading.worker.main import main  # noqa: E402

sys.exit(main())
