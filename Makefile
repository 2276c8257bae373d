# Two commands for a fresh clone: `make demo` (the main job) and `make test` (the tests).
# Both create a local virtual environment in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-training bench labs clean

$(VENV)/installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: $(VENV)/installed
	$(VENV)/bin/cnnlab table --all --check

test: $(VENV)/installed
	KERAS_BACKEND=tensorflow $(PY) -m pytest
	KERAS_BACKEND=jax $(PY) -m pytest -m backends tests/test_models.py tests/test_blocks.py

# Students' notebooks: labs/ is what `nbgrader generate_assignment` makes from solutions/ (never edit labs/).
labs: $(VENV)/installed
	$(PY) autograder/make_labs.py

bench: $(VENV)/installed
	$(PY) bench/build_and_profile.py

clean:
	rm -rf $(VENV) .pytest_cache

test-training: $(VENV)/installed
	KERAS_BACKEND=tensorflow $(PY) -m pytest -m training

# Time to the slide's test error: keras.io baseline vs our pipeline + fast recipe (needs CNNLAB_DATA_DIR).
bench-train: $(VENV)/installed
	$(PY) bench/time_to_error.py mnist
	$(PY) bench/time_to_error.py cifar10
