"""The canary cells of the kernel-asserts path (cnnlab.grading.worker.canary): their reports read exactly."""

import nbformat

from cnnlab.grading.worker.canary import canary_source, read_canary


def test_canary_reports_are_read_exactly():
    nonce = "canary0123"
    cell = nbformat.v4.new_code_cell(canary_source(nonce))
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"{nonce} 3 0 2 1 0\n"),
        nbformat.v4.new_output("error", ename="AssertionError", evalue=nonce, traceback=[]),
    ]
    assert read_canary(cell, nonce) == (3, (0, 2, 1, 0))
    cell.outputs = cell.outputs[:1]  # the error was swallowed
    assert read_canary(cell, nonce) is None
