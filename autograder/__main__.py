import sys

from cnnlab.grading.cli import main

sys.exit(main())
