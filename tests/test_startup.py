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
