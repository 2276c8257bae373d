"""Fingerprints of a model file's weights, read with h5py without Keras, and how close two students' models are.

A `.keras` file is first inspected (`cnnlab.grading.modelcheck.inspection.inspect`: the archive, the config and the
HDF5 file's links, datasets and size), then each weight tensor of its layers (the optimizer's state left out, and
tensors under `MIN_VALUES` values) becomes a sketch: the tensor less its mean, hashed into `SKETCH` buckets with a
random sign each (a count sketch, the same hashing for every tensor of one size), scaled to length 1. The dot
product of two sketches estimates the correlation of the two tensors (within about 1/sqrt(SKETCH)) and is exactly 1
for identical tensors, whatever their names or the order of the layers. The worker keeps one file of sketches per
model (`--out/weights/<lab>/<slug>/<model>.npz`), 2 KB per tensor.

Comparing a class (`compare`): two models' tensors are matched by shape and correlation (renamed, regrouped or
reordered layers do not hide a copy) and their correlations averaged, weighted by size. A pair's score says how much
closer it is than the class's median pair: 1 - (1 - its correlation) / (1 - the median correlation). Independently
trained models barely correlate (median near 0): a copy, a copy with a small perturbation, or a copy trained further
scores near 1, honest pairs near 0. But the labs fix their random seed: a class whose models all start from the same
weights correlates near 1 (`ModelClass.shared_start`), and there only weights much closer than that median stand out
(an identical file, a copy with a tiny change); a copy trained further is as far from its source as two honest
students are from each other, and cannot be told. Weights permuted within a layer (filters reordered together with
the next layer's inputs) also hide a copy: that is not looked for.
"""

import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

SKETCH = 512  # buckets of a tensor's sketch
MIN_VALUES = 16  # smaller tensors (a bias of a few units, a seed generator's state) say nothing of a copy
SKIPPED_GROUPS = ("optimizer", "metrics")  # the file's top-level groups that are not the model's weights
WEIGHT_CAP = 4096  # a tensor's weight in a pair's score: its number of values, at most this


@lru_cache(maxsize=64)
def _hashing(size):
    """(bucket, sign) of each of `size` values: the same for every tensor of that size, in every process."""
    rng = np.random.default_rng(size)
    return rng.integers(0, SKETCH, size), rng.choice(np.array([-1.0, 1.0]), size)


def sketch(values):
    """The sketch of one tensor (see the module's docstring), or None when it is constant."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    flat = flat - flat.mean()
    norm = float(np.linalg.norm(flat))
    if not np.isfinite(norm) or norm == 0:
        return None
    buckets, signs = _hashing(flat.size)
    hashed = np.bincount(buckets, weights=signs * flat, minlength=SKETCH)
    length = float(np.linalg.norm(hashed))
    return (hashed / length).astype(np.float32) if length > 0 else None


def read_tensors(weights_h5):
    """[(path, array)] of the model's weight tensors in an HDF5 file that `inspection.check_weights` accepted."""
    import h5py

    found = []
    with h5py.File(weights_h5, "r") as file:

        def visit(name, item):
            if isinstance(item, h5py.Dataset) and name.split("/")[0] not in SKIPPED_GROUPS:
                if item.size >= MIN_VALUES and item.dtype.kind == "f":
                    found.append((name, item[()]))

        file.visititems(visit)
    return found


def sketch_model(path, expected_params=None):
    """{"paths", "shapes", "sizes", "sketches"} of a `.keras` file (see the module's docstring); raises
    `RefusedModel` when the inspection refuses the file."""
    from cnnlab.grading.modelcheck.inspection import inspect

    with tempfile.TemporaryDirectory(prefix="cnnlab-weights-") as scratch:
        inspect(path, expected_params, scratch=scratch)
        weights = Path(scratch) / "model.weights.h5"
        tensors = read_tensors(weights) if weights.exists() else []
    kept = [(name, array.shape, s) for name, array in tensors if (s := sketch(array)) is not None]
    return {
        "paths": np.array([name for name, _, _ in kept], dtype=str),
        "shapes": np.array([",".join(map(str, shape)) for _, shape, _ in kept], dtype=str),
        "sizes": np.array([int(np.prod(shape)) for _, shape, _ in kept], dtype=np.int64),
        "sketches": np.array([s for _, _, s in kept], dtype=np.float32).reshape(len(kept), SKETCH),
    }


def write_sketches(config, models_dir, folder):
    """One `<model>.npz` in `folder` for each model of the lab's `config` found in `models_dir` and accepted by
    the inspection (a refused or missing file has none: its checks already say why)."""
    from cnnlab.grading.modelcheck.inspection import RefusedModel

    for spec in config.models:
        path = Path(models_dir) / f"{spec.name}.keras"
        if not path.is_file():
            continue
        expected = next((c["expected"] for c in spec.checks if c["check"] == "params"), None)
        try:
            fingerprint = sketch_model(path, expected)
        except (RefusedModel, OSError, ValueError):
            continue
        Path(folder).mkdir(parents=True, exist_ok=True)
        np.savez(Path(folder) / f"{spec.name}.npz", **fingerprint)


def read_sketches(path):
    """The fingerprint kept at `path`, or None when it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as data:
            fingerprint = {key: data[key] for key in ("paths", "shapes", "sizes", "sketches")}
    except (OSError, ValueError, KeyError):
        return None
    if fingerprint["sketches"].shape != (len(fingerprint["paths"]), SKETCH):
        return None
    return fingerprint


# -- a class of models --

SHARED_START = 0.5  # a class whose median pair correlates this much or more started from the same weights
MIN_CLASS = 4  # fewer models: no class to compare with, the plain correlation is the score
IDENTICAL = 1e-6  # a pair's distance (1 - correlation) under which its weights are the same


@dataclass
class TensorMatch:
    path_a: str
    path_b: str
    shape: str
    correlation: float


@dataclass
class ModelPair:
    model: str
    a: str
    b: str
    score: float  # how much closer than the class's median pair: 1 - distance / median distance (0 to 1)
    correlation: float  # the matched tensors' correlation, weighted by size (1 - distance)
    matches: list = field(default_factory=list)  # TensorMatch, largest first (for the pairs the report shows)


@dataclass
class ModelClass:
    model: str
    pairs: list  # ModelPair, best first
    median_correlation: float  # of the class's pairs

    @property
    def shared_start(self):
        """True when the class's models are all alike (the notebook's fixed seed): then only near-identical
        weights stand out."""
        return self.median_correlation >= SHARED_START


def _greedy(similarity):
    """Pairs (i, j) matching rows to columns one to one, highest similarity first."""
    pairs, rows, cols = [], set(), set()
    for flat in np.argsort(-similarity, axis=None, kind="stable"):
        i, j = divmod(int(flat), similarity.shape[1])
        if i not in rows and j not in cols:
            pairs.append((i, j))
            rows.add(i)
            cols.add(j)
            if len(rows) == similarity.shape[0] or len(cols) == similarity.shape[1]:
                break
    return pairs


def _match(fa, fb):
    """[(i, j)] of tensors of `fa` and `fb` with one shape, matched one to one by correlation."""
    pairs = []
    for shape in sorted(set(fa["shapes"]) & set(fb["shapes"])):
        ia, ib = np.flatnonzero(fa["shapes"] == shape), np.flatnonzero(fb["shapes"] == shape)
        similarity = fa["sketches"][ia] @ fb["sketches"][ib].T
        pairs += [(int(ia[i]), int(ib[j])) for i, j in _greedy(similarity)]
    return pairs


def _correlations(fingerprints, chunk=64):
    """(students, [a, b] the share, by weight, of a's tensors found in b, each counting the correlation of the
    same-shaped tensor of b that correlates with it most (0 if none or negative), weights per student)."""
    students = sorted(fingerprints)
    prints = [fingerprints[s] for s in students]
    count = len(students)
    numerator, total = np.zeros((count, count)), np.zeros(count)
    for shape in sorted({str(x) for f in prints for x in f["shapes"]}):
        index = [np.flatnonzero(f["shapes"] == shape) for f in prints]
        width = max(len(rows) for rows in index)
        sketches = np.zeros((count, width, SKETCH), np.float32)
        weights = np.zeros((count, width))
        for n, (f, rows) in enumerate(zip(prints, index, strict=True)):
            sketches[n, : len(rows)] = f["sketches"][rows]
            weights[n, : len(rows)] = np.minimum(f["sizes"][rows], WEIGHT_CAP)
        present = weights > 0
        for start in range(0, count, chunk):
            gram = np.einsum("atk,bsk->atbs", sketches[start : start + chunk], sketches)  # [a, t, b, s]
            best = np.where(present[None, None], gram, -np.inf).max(axis=3)
            best = np.where(np.isfinite(best), np.clip(best, 0, 1), 0)
            numerator[start : start + chunk] += np.einsum("at,atb->ab", weights[start : start + chunk], best)
        total += weights.sum(axis=1)
    share = np.divide(numerator, total[:, None], out=np.zeros_like(numerator), where=total[:, None] > 0)
    return students, share, total


def compare(fingerprints, model, evidence_from=1.0, detail=5):
    """The `ModelClass` of {student: fingerprint} of one model; the pairs scoring `evidence_from` or more, and at
    least the first `detail`, come with their matched tensors (the evidence the report shows)."""
    if len(fingerprints) < 2:
        return ModelClass(model, [], 0.0)
    students, share, total = _correlations(fingerprints)
    pairs = []
    for x in range(len(students)):
        for y in range(x + 1, len(students)):
            side = (x, y) if total[x] <= total[y] else (y, x)  # the smaller model's tensors found in the other
            pairs.append(ModelPair(model, students[x], students[y], 0.0, float(share[side])))
    median = float(np.median([p.correlation for p in pairs]))
    scale = 1 - median if len(students) >= MIN_CLASS else 1.0
    for pair in pairs:
        distance = 1 - pair.correlation
        if distance <= IDENTICAL:  # the same weights: 1, even in a class whose median pair is the same weights too
            pair.score = 1.0
        else:
            pair.score = float(np.clip(1 - distance / scale, 0, 1)) if scale > 0 else 0.0
    pairs.sort(key=lambda p: (-p.score, -p.correlation, p.a, p.b))
    for rank, pair in enumerate(pairs):
        if rank >= detail and pair.score < evidence_from:
            break
        pair.matches = _evidence(fingerprints[pair.a], fingerprints[pair.b])
    return ModelClass(model, pairs, median)


def _evidence(fa, fb):
    """The TensorMatch list of two fingerprints (tensors matched one to one by correlation), largest first."""
    matches = [
        (
            int(fa["sizes"][i]),
            TensorMatch(
                str(fa["paths"][i]),
                str(fb["paths"][j]),
                str(fa["shapes"][i]),
                float(fa["sketches"][i] @ fb["sketches"][j]),
            ),
        )
        for i, j in _match(fa, fb)
    ]
    return [m for _, m in sorted(matches, key=lambda item: (-item[0], item[1].path_a))]
