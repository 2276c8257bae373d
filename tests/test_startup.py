import json
import os
import subprocess
import sys

from cnnlab import startup


def _run(code, **env):
    """`code` in a fresh interpreter (skipping imports changes sys.modules for good); its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_keras_backend_follows_the_environment_then_keras_json(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert startup.keras_backend() == "tensorflow"  # no keras.json
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax", "floatx": "float32"}))
    assert startup.keras_backend() == "jax"
    (tmp_path / "keras.json").write_text("{not json")
    assert startup.keras_backend() == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert startup.keras_backend() == "torch"


def test_the_command_runs_without_jax_and_matplotlib():
    out = _run(
        "import sys; sys.argv = ['cnnlab', 'networks']\n"
        "from cnnlab.cli import command\n"
        "assert command() == 0\n"
        "print('jax', sys.modules['jax'], 'matplotlib', sys.modules['matplotlib'], 'keras' in sys.modules)",
        KERAS_BACKEND="tensorflow",
    )
    assert "convnet-mnist" in out  # the command's own output
    assert out.splitlines()[-1] == "jax None matplotlib None True"


def test_grade_keeps_matplotlib_and_a_jax_backend_keeps_jax():
    code = (
        "from cnnlab import startup\n"
        "startup.skip_unused_imports(plotting=True)\n"
        "import matplotlib.pyplot\n"
        "try:\n"
        "    import jax\n"
        "    print('jax imported')\n"
        "except ImportError:\n"
        "    print('jax skipped')"
    )
    assert _run(code, KERAS_BACKEND="tensorflow").strip() == "jax skipped"
    assert _run(code, KERAS_BACKEND="jax").strip() == "jax imported"


def test_nbformat_reads_and_validates_without_rfc3987_syntax():
    code = (
        "from cnnlab import startup\n"
        "startup.skip_unused_imports()\n"
        "import sys, nbformat\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1 + 1')])\n"
        "nbformat.validate(nbformat.reads(nbformat.writes(nb), as_version=4))\n"
        "nb.cells[0].execution_count = 'one'\n"
        "try:\n"
        "    nbformat.validate(nb)\n"
        "except nbformat.ValidationError:\n"
        "    print('invalid', sys.modules['rfc3987_syntax'])"
    )
    assert _run(code).strip() == "invalid None"


def _environment(**env):
    """This process's environment without TF_CPP_MIN_LOG_LEVEL (the quiet start is for users who did not set it)."""
    base = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return {**base, **env}


def test_the_command_starts_tensorflow_without_its_cpp_log():
    done = subprocess.run(
        [sys.executable, "-m", "cnnlab", "networks"],
        capture_output=True,
        text=True,
        timeout=300,
        env=_environment(KERAS_BACKEND="tensorflow"),
    )
    assert done.returncode == 0 and "convnet-mnist" in done.stdout
    assert done.stderr == ""  # no absl, oneDNN or CUDA lines


def test_a_failing_tensorflow_import_still_shows_what_it_printed(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\nos.write(2, b'the loader said why\\n')\nraise ImportError('broken')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", "from cnnlab import startup\nstartup.quiet_tensorflow()"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(KERAS_BACKEND="tensorflow", PYTHONPATH=str(tmp_path)),
    )
    assert done.returncode == 1
    assert "the loader said why" in done.stderr and "ImportError: broken" in done.stderr
