"""A kernel's malformed messages (cnnlab/grading/worker/kernel_messages.py): left out with a note, never a grader
failure; the next cells run."""

import nbformat

from cnnlab.grading.worker.kernel_messages import DefensiveExecute

SENDS = [
    ("stream", {"name": "stdout", "text": 123}),
    ("stream", {"text": "no name"}),
    ("display_data", {"data": 7, "metadata": {}}),
    ("display_data", {"metadata": {}}),
    ("error", {"ename": 5}),
    ("execute_result", {"data": {"text/plain": "x"}, "execution_count": "not a number"}),
    ("display_data", {"data": {"text/plain": "x"}, "metadata": {}, "transient": {"display_id": ["unhashable"]}}),
]


def test_malformed_messages_are_left_out_with_a_note_and_the_next_cells_run(tmp_path):
    source = (
        "k = get_ipython().kernel\nparent = k.get_parent('shell')\nprint('before')\n"
        + "".join(f"k.session.send(k.iopub_socket, {kind!r}, {content!r}, parent=parent)\n" for kind, content in SENDS)
        + "print('after')"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source), nbformat.v4.new_code_cell("print('next')")])
    client = DefensiveExecute(kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}})
    client.nb = nb
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    streams = [o for o in nb.cells[0].outputs if o.get("output_type") == "stream"]
    assert "".join(o.text for o in streams if o.name == "stdout") == "before\nafter\n"
    notes = "".join(o.text for o in streams if o.name == "stderr").splitlines()
    assert len(notes) == len(SENDS) and all(
        n.startswith("[grader] the kernel sent an output the grader could") for n in notes
    )
    assert nb.cells[1].outputs[0].text == "next\n"
    nbformat.validate(nb)  # what the feedback and the scores read is a valid notebook
