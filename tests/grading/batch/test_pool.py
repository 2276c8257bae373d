"""The batch's pool (cnnlab.grading.batch.pool.run_pool): one item's failure is that item's result, the others are
all done; only a stop (SIGTERM, SIGINT) or a failed check ends the pool early; the other workers grade while the
first one checks, and no result is kept before the check has passed."""

import threading

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


def test_the_check_runs_beside_the_other_workers_and_no_result_is_kept_before_it_passed(tmp_path):
    events = []
    graded = threading.Event()

    def before(worker):
        assert graded.wait(30)  # the second worker grades while the first one checks
        events.append("checked")

    def grade_one(item, worker):
        events.append(f"graded {item}")
        graded.set()
        return item

    lost = run_pool(
        ["a", "b", "c"],
        grade_one,
        lambda item, result, count: events.append(("kept", result, count)),
        2,
        tmp_path,
        tmp_path,
        failed=lambda item, error: None,
        before=before,
    )
    kept = [event for event in events if event[0] == "kept"]
    assert lost == [] and events[0].startswith("graded ")  # the first one checks, the second grades
    assert events.index("checked") < events.index(kept[0])  # held until the check passed
    assert sorted(result for _, result, _ in kept) == ["a", "b", "c"] and [c for _, _, c in kept] == [1, 2, 3]


def test_a_failed_check_stops_the_pool_and_keeps_nothing_graded_beside_it(tmp_path):
    graded, kept = threading.Event(), []

    def before(worker):
        assert graded.wait(30)
        raise ValueError("the solution fails its own probe")

    def grade_one(item, worker):
        graded.set()
        return item

    with pytest.raises(ValueError, match="its own probe"):
        run_pool(
            ["a", "b"],
            grade_one,
            lambda item, result, count: kept.append(item),
            2,
            tmp_path,
            tmp_path,
            failed=lambda item, error: None,
            before=before,
        )
    assert kept == []


def test_with_one_worker_the_check_comes_first(tmp_path):
    events = []
    run_pool(
        ["a"],
        lambda item, worker: events.append(f"graded {item}"),
        lambda item, result, count: events.append(f"kept {item}"),
        1,
        tmp_path,
        tmp_path,
        failed=lambda item, error: None,
        before=lambda worker: events.append("checked"),
    )
    assert events == ["checked", "graded a", "kept a"]
