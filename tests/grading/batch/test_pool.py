"""The batch's pool (cnnlab.grading.batch.pool.run_pool): one item's failure is that item's result, the others are
all done; only a stop (SIGTERM, SIGINT) ends the pool early."""

import pytest

from cnnlab.grading.batch.pool import Interrupted, run_pool


def test_a_failure_of_one_item_is_its_result_and_every_other_item_is_done(tmp_path):
    def grade_one(item, worker):
        if item == "deep":
            raise RecursionError("maximum recursion depth exceeded")  # a clean-up that recursed once per level
        if item == "broken":
            raise OSError("no space left on device")
        return f"graded {item}"

    done = []
    lost = run_pool(
        ["a", "deep", "b", "broken", "c"],
        grade_one,
        lambda item, result, count: done.append((item, result)),
        2,
        tmp_path,
        tmp_path,
        failed=lambda item, error: f"grader_error {item}: {type(error).__name__}",
    )
    assert lost == []
    assert sorted(done) == [
        ("a", "graded a"),
        ("b", "graded b"),
        ("broken", "grader_error broken: OSError"),
        ("c", "graded c"),
        ("deep", "grader_error deep: RecursionError"),
    ]


def test_a_result_that_cannot_be_kept_is_returned_after_every_other_one_was(tmp_path):
    done = []

    def keep(item, result, count):
        if item == "unkept":
            raise PermissionError("results/ is read-only")
        done.append(item)

    lost = run_pool(
        ["a", "unkept", "b"], lambda item, worker: item, keep, 1, tmp_path, tmp_path, failed=lambda item, error: None
    )
    assert sorted(done) == ["a", "b"]
    assert [(item, type(error).__name__) for item, error in lost] == [("unkept", "PermissionError")]


def test_a_stop_ends_the_pool(tmp_path):
    def grade_one(item, worker):
        raise Interrupted("stopped by SIGTERM")

    with pytest.raises(Interrupted):
        run_pool(["a", "b"], grade_one, lambda *a: None, 1, tmp_path, tmp_path, failed=lambda item, error: None)
