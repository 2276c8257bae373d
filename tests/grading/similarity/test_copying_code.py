"""The copying report's answer cells: what the normalization sees through, and a class of known truth
(tests/copying_class.py: 24 honest students of lab 5, 6 disguised copies) on which copies must be listed and honest
pairs almost never."""

from copying_class import COPIES, copying_class

from cnnlab.grading.similarity import code
from cnnlab.grading.similarity.report import CODE_FLAG

ORIGINAL = '''def layer_ops(n, c_in, k, c_out):
    """Operations of a layer."""
    per_position = k * k * c_in + 1  # weights and bias
    total = n * n * c_out * per_position
    for extra in range(c_out):
        total += extra % 2
    return total'''
DISGUISED = """def layer_ops(n, c_in, k, c_out):
    # my own version
    acc = n * n * c_out * (k * k * c_in + 1)

    for j in range(c_out):   # loop over the channels
        acc += j % 2
    print("debug", acc)
    return acc"""
REORDERED = """def f(x):
    a = np.mean(x, axis=0)
    b = np.std(x, axis=0) + 1e-6
    c = x.max() - x.min()
    return (x - a) / b * c"""
REORDERED_2 = """def f(x):
    spread = x.max() - x.min()
    scale = np.std(x, axis=0) + 1e-6
    centre = np.mean(x, axis=0)
    return (x - centre) / scale * spread"""
OTHER = """def layer_ops(n, c_in, k, c_out):
    weights = c_out * (c_in * k ** 2)
    return n ** 2 * (weights + c_out) + sum(e % 2 for e in range(c_out))"""


def keys(source, cell_type="code"):
    return sorted(u.key for u in code.units({"cell_type": cell_type, "source": source}))


def test_renames_comments_prints_blank_lines_and_augmented_assignments_are_seen_through():
    shared = set(keys(ORIGINAL)) & set(keys(DISGUISED))
    assert len(shared) >= 0.6 * len(set(keys(ORIGINAL)))  # the temporary `per_position` splits one statement
    assert keys(REORDERED) == keys(REORDERED_2)  # reordered and renamed: the same multiset of units
    other = set(keys(ORIGINAL)) & set(keys(OTHER))  # another answer to the task: what the task dictates (the def line)
    assert len(shared) >= 2 * len(other), (len(shared), len(other))


def test_a_cell_that_does_not_parse_falls_back_to_its_lines():
    broken = "def f(x)\n    return x +\n%timeit f(1)"
    assert keys(broken) == keys(broken.replace("x", "y"))
    assert keys("%matplotlib inline\nx = 1") == keys("y = 1")  # magics blanked, the rest parsed


def test_written_answers_compare_by_words_with_numbers_read_alike():
    a = keys("The module falls from 287,091,392 to 70,800,688 operations.", "markdown")
    assert a == keys("the module FALLS from 287091392 to 70800688 operations", "markdown")


def test_disguised_copies_are_listed_and_honest_pairs_almost_never():
    """Ten classes of 30: every copy of whole answers is listed, in every class; of the honest pairs (which share
    answers by chance: each task's answer is picked from about nine), at most 2 in 1,000."""
    honest = flagged = 0
    for seed in range(10):
        students, truth = copying_class(seed)
        pairs = code.compare(students, evidence_from=CODE_FLAG)
        listed = {frozenset((p.a, p.b)) for p in pairs if p.score >= CODE_FLAG}
        whole = {frozenset((c, o)) for c, o, changes in COPIES if "some_cells" not in changes}
        transitive = truth - {frozenset((c, o)) for c, o, _ in COPIES}
        assert whole | transitive <= listed, (seed, sorted(map(sorted, (whole | transitive) - listed)))
        honest += sum(frozenset((p.a, p.b)) not in truth for p in pairs)
        flagged += len(listed - truth)
        copy = next(p for p in pairs if {p.a, p.b} == {"copier_everything", "honest_11"})
        cell = next(c for c in copy.cells if c.cell_type == "code")
        assert cell.lines_a and cell.lines_b and cell.source_a != cell.source_b  # the evidence, side by side
    assert flagged <= 0.002 * honest, (flagged, honest)
