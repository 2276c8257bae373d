# Two commands for a fresh clone: `make demo` (the main job) and `make test` (the tests).
# Both create a local virtual environment in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

# The course's offline datasets, when this clone sits next to them (as in CI). Elsewhere cnnlab reads
# $CNNLAB_DATA_DIR if set, then Keras' cache, then downloads (see docs/data-and-training.md).
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)/mnist.npz),)
export CNNLAB_DATA_DIR ?= $(SHARED_DATA)
endif

.PHONY: demo test lint test-training test-grader test-course test-cluster bench bench-train bench-grader labs clean

# PyTorch for the tests' PyTorch pass: the CPU wheel this machine keeps on disk (plain `torch` downloads a CUDA build).
TORCH ?= torch==2.13.0

$(VENV)/installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q $(TORCH)
	touch $@

demo: $(VENV)/installed
	$(VENV)/bin/cnnlab table --all --check
	$(VENV)/bin/cnnlab reproduce convnet-mnist --epochs 1

# Tests run on every core (pytest-xdist); the tests that share a lab's solution run or a corpus batch stay on one
# worker (tests/conftest.py), so that each is done once.
PARALLEL ?= -n auto --dist loadgroup
# The JAX pass compiles far more than it runs (each network's weight initializers, one small step): XLA's CPU
# code generation without its optimization passes builds a network in about half the time.
test: $(VENV)/installed lint
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH KERAS_BACKEND=tensorflow $(PY) -m pytest $(PARALLEL) --durations=20
	KERAS_BACKEND=jax XLA_FLAGS=--xla_backend_optimization_level=0 $(PY) -m pytest $(PARALLEL) -m backends \
		tests/test_models.py tests/test_blocks.py tests/test_backends.py
	KERAS_BACKEND=torch $(PY) -m pytest -m backends tests/test_blocks.py tests/test_backends.py

# The linter and the formatter's check (pyproject.toml [tool.ruff]); `ruff format .` formats.
lint: $(VENV)/installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The autograder's hostile corpus alone (also part of `make test`): broken or hostile submissions graded in
# bubblewrap jails, a zip rerun, SIGTERM; kernels that move their folders or leave trees of any depth.
test-grader: $(VENV)/installed
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH KERAS_BACKEND=tensorflow $(PY) -m pytest $(PARALLEL) -m grader_corpus \
		tests/grading/test_corpus.py tests/grading/worker/test_corpus_paths.py

# A class of lab 1 graded as a Slurm job array (autograder/slurm/) on a one-node Slurm started here, merged, and
# compared with the one-machine run (root: munged, slurmctld and slurmd; Debian's packages installed when missing).
test-cluster: $(VENV)/installed
	command -v slurmctld >/dev/null && command -v munged >/dev/null || \
		(apt-get update && apt-get install -y --no-install-recommends slurm-wlm munge)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH KERAS_BACKEND=tensorflow $(PY) -m pytest -n 0 -m cluster tests/grading/batch/test_slurm.py

# A term of lab 1 graded from a Canvas and a Moodle download (rosters, late work, overrides, a course change between
# two releases), every export checked file by file: the `course` tier, outside `make test`, run by .ci/run.
test-course: $(VENV)/installed
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH KERAS_BACKEND=tensorflow $(PY) -m pytest $(PARALLEL) -m course tests/grading/test_course_scenario.py

# Students' notebooks: labs/ is what `nbgrader generate_assignment` makes from solutions/ (never edit labs/).
labs: $(VENV)/installed
	$(PY) autograder/make_labs.py

bench: $(VENV)/installed
	$(PY) bench/build_and_profile.py

# Grading against the peer: the same answered notebooks graded by `nbgrader autograde` and by cnnlab, back to back,
# for each of LABS: both rates, the ratio, cnnlab's seconds by step, the same scores. A lab with saved models first
# runs its solution once in quick mode; the labs need CNNLAB_DATA_DIR. BASELINE=DIR grades with another checkout too.
# LAB=one_lab is LABS=one_lab.
LABS ?= $(if $(LAB),$(LAB),lab1_convolution lab2_first_convnet)
COPIES ?= 16
WORKERS ?= 2
bench-grader: $(VENV)/installed
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) bench/grade_throughput.py $(LABS) --copies $(COPIES) --workers $(WORKERS) \
		$(if $(BASELINE),--baseline $(BASELINE))

clean:
	rm -rf $(VENV) .pytest_cache

test-training: $(VENV)/installed
	KERAS_BACKEND=tensorflow $(PY) -m pytest -m training

# Time to the slide's test error: keras.io baseline vs our pipeline + fast recipe (needs CNNLAB_DATA_DIR).
bench-train: $(VENV)/installed
	$(PY) bench/time_to_error.py mnist
	$(PY) bench/time_to_error.py cifar10

# The student bundle (README, "Publish a course"): released labs, wheel and sdist, a student README; no answers.
RELEASE_DIR ?= release
.PHONY: release
release: $(VENV)/installed
	$(VENV)/bin/cnnlab release --out $(RELEASE_DIR)
