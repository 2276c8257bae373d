"""The grader's secret and what is drawn from it: each submission's probe inputs, each batch's test images.

The secret is 32 random bytes in `--out/.work/secret`, made on the first run and kept (a rerun, a regrade, a
resumed run draw the same inputs), readable by the grader only: no jail mounts `--out`. Nothing a kernel or a
model check sees lets it recover the secret (every seed is an HMAC-SHA256 of it).

- `submission_seed`: one per submission, from the student's id, the lab and the sha256 of every file graded, so
  that a resubmission (other bytes) or another student draws other inputs. A probed test's generator
  (`probe.rng`) is seeded with `probe_seed(submission_seed, grade_id)`: knowing one test's inputs tells nothing
  about another test's, another submission's, or the next one.
- `images_seed`: one per lab and batch folder, for the model checks' changed test images (`modelcheck.images`).
"""

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

FILE = Path(".work") / "secret"
SIZE = 32


def load_or_create(out):
    """The secret of the batch folder `out` (bytes), made with mode 0600 on first use."""
    path = Path(out) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != SIZE:
            raise ValueError(
                f"{path} holds {len(key)} bytes, not the grader's {SIZE}: remove it (the next run draws new "
                f"hidden inputs and test images) or restore it from a backup"
            ) from None
        return key
    with os.fdopen(fd, "wb") as file:
        key = secrets.token_bytes(SIZE)
        file.write(key)
    return key


def _mac(key, *parts):
    return hmac.new(key, json.dumps(parts).encode(), hashlib.sha256).digest()


def submission_seed(key, lab, student, files_sha256):
    """The hex seed of one submission: `files_sha256` maps each file graded to its sha256."""
    return _mac(key, "submission", lab, student, sorted(files_sha256.items())).hex()


def probe_seed(submission, grade_id):
    """The seed (a 128-bit int) of `probe.rng` for test `grade_id` of the submission whose seed is `submission`."""
    return int.from_bytes(_mac(bytes.fromhex(submission), "probe", grade_id)[:16], "big")


def images_seed(key, lab):
    """The seed (a 128-bit int) of a lab's changed test images in this batch folder."""
    return int.from_bytes(_mac(key, "images", lab)[:16], "big")
