"""What a student's kernel sends while a cell runs, read defensively (used by step 3, `execute`).

The kernel writes every byte of its messages: `get_ipython().kernel.session.send(...)` can send a stream whose text
is a number, a display without data, an error without its name. nbclient turns each message into a notebook
output and raises on such a message (KeyError, nbformat's NotebookValidationError), which would stop the grading
of the whole submission as a grader failure. `DefensiveExecute` is nbgrader's Execute whose messages that cannot
become an output are left out, with a note in the cell's output: the student's own cell shows it, nothing else
changes, the next cells run."""

import nbformat
from nbclient.exceptions import CellControlSignal
from nbgrader.preprocessors import Execute

UNREADABLE = "[grader] the kernel sent an output the grader could not read ({}); it is left out\n"


class DefensiveExecute(Execute):
    """nbgrader's Execute, reading each kernel message defensively (see the module's docstring)."""

    def process_message(self, msg, cell, cell_index):
        try:
            return super().process_message(msg, cell, cell_index)
        except CellControlSignal:  # the cell is done: nbclient's own signal
            raise
        except Exception as error:  # noqa: BLE001 (the kernel's message: any failure to read it is its own)
            cell.outputs.append(
                nbformat.v4.new_output("stream", name="stderr", text=UNREADABLE.format(type(error).__name__))
            )
            return None
        finally:
            count = cell.get("execution_count")
            if count is not None and type(count) is not int:
                cell["execution_count"] = None
