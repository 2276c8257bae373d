"""The frames between the grader and its jailed servers (cnnlab.grading.jail.frames)."""

import subprocess
import sys
import time

from cnnlab.grading.jail.frames import receive_within

TWO_FRAMES = """
import sys
from cnnlab.grading.jail.frames import send
send(sys.stdout.buffer, {"ready": 1})
send(sys.stdout.buffer, {"started": True})
sys.stdin.read()
"""


def test_two_frames_written_back_to_back_are_both_read_without_waiting():
    """A kernel server started ahead says "ready" and "started" together; the grader reads the second at once
    (a buffered read had taken both, and the wait for the second then lasted its whole timeout)."""
    server = subprocess.Popen([sys.executable, "-c", TWO_FRAMES], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        time.sleep(0.5)  # both frames are in the pipe before the first is read
        assert receive_within(server.stdout, 30) == {"ready": 1}
        began = time.monotonic()
        assert receive_within(server.stdout, 30) == {"started": True}
        assert time.monotonic() - began < 10
    finally:
        server.stdin.close()
        server.wait()
