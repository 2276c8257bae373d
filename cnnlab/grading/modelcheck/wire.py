"""The frames between the grader and its jailed model server (`server` and `_probe` both use them): those of every
jailed server, `cnnlab.grading.jail.frames`."""

from cnnlab.grading.jail.frames import receive, receive_within, send

__all__ = ["receive", "receive_within", "send"]
