"""The frames between the grader and a jailed server (the kernel server, the model server): an 8-byte big-endian
length, then that many bytes of JSON."""

import json
import select
import struct


def send(stream, message):
    """One frame: the length of the JSON (8 bytes, big-endian), then the JSON."""
    data = json.dumps(message).encode()
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def receive(stream, limit=2**20):
    """The next frame's message, or None at the end of the stream."""
    header = _read(stream, 8)
    if len(header) < 8:
        return None
    size = struct.unpack(">Q", header)[0]
    if size > limit:
        raise ValueError(f"a frame of {size:,} bytes (at most {limit:,})")
    data = _read(stream, size)
    if len(data) < size:
        return None
    return json.loads(data)


def receive_within(stream, timeout):
    """The next frame's message from a server's stdout pipe, or None at its end; TimeoutError when none begins
    within `timeout` seconds. Read without a buffer: a frame that follows stays in the pipe, where `select` sees
    it (a buffered read takes two frames written back to back, and `select` would then wait for the second)."""
    raw = getattr(stream, "raw", stream)
    if not select.select([raw], [], [], timeout)[0]:
        raise TimeoutError
    return receive(raw)


def _read(stream, size):
    """`size` bytes, fewer only at the end of the stream (an unbuffered read may return part of them)."""
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data
