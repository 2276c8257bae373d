"""The frames between the grader and a jailed server (the kernel server, the model server): an 8-byte big-endian
length, then that many bytes of JSON."""

import json
import struct


def send(stream, message):
    """One frame: the length of the JSON (8 bytes, big-endian), then the JSON."""
    data = json.dumps(message).encode()
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def receive(stream, limit=2**20):
    """The next frame's message, or None at the end of the stream."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    size = struct.unpack(">Q", header)[0]
    if size > limit:
        raise ValueError(f"a frame of {size:,} bytes (at most {limit:,})")
    data = stream.read(size)
    if len(data) < size:
        return None
    return json.loads(data)
