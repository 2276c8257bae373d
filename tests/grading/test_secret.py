"""The grader's secret and the seeds drawn from it (cnnlab/grading/secret.py)."""

import stat

import pytest

from cnnlab.grading import secret


def test_the_secret_is_made_once_readable_by_the_grader_only(tmp_path):
    key = secret.load_or_create(tmp_path)
    path = tmp_path / secret.FILE
    assert len(key) == secret.SIZE and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret.load_or_create(tmp_path) == key
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="holds 5 bytes, not the grader's 32: remove it"):
        secret.load_or_create(tmp_path)


def test_each_submission_and_each_test_draws_its_own_seed():
    key, files = b"k" * 32, {"lab1.ipynb": "ab" * 32}
    seed = secret.submission_seed(key, "lab1", "ann", files)
    assert seed == secret.submission_seed(key, "lab1", "ann", dict(files))  # a rerun draws the same inputs
    others = [
        secret.submission_seed(b"j" * 32, "lab1", "ann", files),  # another batch folder's secret
        secret.submission_seed(key, "lab2", "ann", files),
        secret.submission_seed(key, "lab1", "ben", files),  # the same bytes from another student
        secret.submission_seed(key, "lab1", "ann", {"lab1.ipynb": "cd" * 32}),  # a resubmission
        secret.submission_seed(key, "lab1", "ann", files | {"model.keras": "ef" * 32}),
    ]
    assert len({seed, *others}) == 6
    tests = [secret.probe_seed(seed, grade_id) for grade_id in ("test_a", "test_b")]
    assert tests[0] != tests[1] and tests[0] == secret.probe_seed(seed, "test_a") and 0 <= tests[0] < 2**128
    assert secret.images_seed(key, "lab2") == secret.images_seed(key, "lab2") != secret.images_seed(key, "lab3")
