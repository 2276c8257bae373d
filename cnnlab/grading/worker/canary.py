"""The canary before a test cell judged by its own asserts in the kernel (the kernel-asserts path, for labs written
for plain nbgrader): it checks, in the kernel, that failing assertions still fail and errors still reach the
grader (nothing monkeypatched `numpy.testing`, IPython's exception handling or its input transformers);
`read_canary` reads its answer in the grader."""

import re


def canary_source(nonce):
    return (
        "# cnnlab grader canary\n"
        "def __cnnlab_canary():\n"
        "    import numpy.testing\n"
        "    failed = 0\n"
        "    for check in (lambda: numpy.testing.assert_allclose(0.0, 1.0),\n"
        "                  lambda: numpy.testing.assert_array_equal([0], [1]),\n"
        "                  lambda: numpy.testing.assert_equal(0, 1)):\n"
        "        try:\n"
        "            check()\n"
        "        except AssertionError:\n"
        "            failed += 1\n"
        "    shell = get_ipython()\n"
        "    hooks = (len(shell.custom_exceptions), len(shell.input_transformers_cleanup),\n"
        "             len(shell.input_transformers_post), len(shell.ast_transformers))\n"
        f"    print('{nonce}', failed, *hooks)\n"
        "__cnnlab_canary()\n"
        f"raise AssertionError('{nonce}')"
    )


def read_canary(cell, nonce):
    """(failed-assertions, hooks) printed by a canary, or None if the canary did not report as written."""
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
    errors = [o for o in cell.outputs if o.output_type == "error"]
    match = re.fullmatch(rf"{nonce} (\d+) (\d+) (\d+) (\d+) (\d+)\n", text)
    if not match or len(errors) != 1 or errors[0].ename != "AssertionError" or errors[0].evalue != nonce:
        return None
    numbers = tuple(int(n) for n in match.groups())
    return numbers[0], numbers[1:]
