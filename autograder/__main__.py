import sys

from cnnlab import startup

startup.skip_unused_imports(plotting=True)  # (the batch plots its report), as `cnnlab grade`
from cnnlab.grading.cli import main  # noqa: E402

sys.exit(main())
