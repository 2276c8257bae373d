"""What the worker keeps of a submission's answer cells for a TA and the copying report."""

import nbformat
from grading_helpers import _cell, _markdown

from cnnlab.grading import answers


def test_answer_cells_are_kept_with_what_a_ta_reads_of_their_outputs():
    read_by_a_ta = _cell("print('hi')", "describe", solution=True, grade=True, points=1)
    read_by_a_ta.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="hi\n"),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0K\nGgo=", "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"image/png": "not base64 <script>"}),
        nbformat.v4.new_output("display_data", data={"text/html": "<b>x</b>", "text/plain": "plain x"}),
        nbformat.v4.new_output("error", ename="ValueError", evalue="\x1b[31mno\x1b[0m", traceback=[]),
    ]
    code = _cell("def f():\n    return 1", "f", solution=True)
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="not kept\n")]
    nb = nbformat.v4.new_notebook(
        cells=[_cell("import numpy", "setup", locked=True), code, _markdown("Because.", "why", 2), read_by_a_ta]
    )
    kept = answers.answers(nb)
    assert sorted(kept) == ["describe", "f", "why"]
    assert kept["f"] == {"cell_type": "code", "source": "def f():\n    return 1", "manual": False, "outputs": []}
    assert kept["why"]["manual"] and kept["why"]["cell_type"] == "markdown"
    assert kept["describe"]["outputs"] == [
        {"text": "hi\n"},
        {"image": "image/png", "data": "iVBORw0KGgo="},
        {"text": "[grader] an image left out: not plain base64, or over the size a TA's page shows"},
        {"text": "plain x"},
        {"text": "ValueError: no"},
    ]


def test_a_huge_answer_is_cut_and_says_so(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[_markdown("x" * (answers.MAX_SOURCE + 10), "why", 2)])
    answers.write(nb, tmp_path / "answers.json")
    source = answers.read(tmp_path / "answers.json")["why"]["source"]
    assert source.endswith("[grader] 10 more characters cut") and len(source) < answers.MAX_SOURCE + 100
    assert answers.read(tmp_path / "missing.json") == {}
