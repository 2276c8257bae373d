import sys

from cnnlab.cli import command

sys.exit(command())
