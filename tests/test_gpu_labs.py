"""bench/gpu_labs.py, the GPU machine's script, runs end to end on the CPU in its tiny mode."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.training  # 623 s on 2 cores shared with three other sessions: out of `make test`
def test_gpu_labs_script_runs_every_kind_of_lab_in_tiny_mode(shared_dir):
    networks = ["lenet5", "plain20", "plain56", "unet"]  # padded MNIST, the CIFAR nets, segmentation
    run = subprocess.run(
        [sys.executable, "bench/gpu_labs.py", "--tiny", "--networks", *networks],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[2:] if line.split()[0] in networks}
    assert set(rows) == set(networks), run.stdout
    assert rows["lenet5"][3] in ("reaches", "misses") and rows["lenet5"][4] == "1"  # verdict, one epoch
    assert "0.0611" in rows["unet"] and "validation slices" in " ".join(rows["unet"])
    assert any(line.startswith("degradation (plain-56 trains worse than plain-20): ") for line in lines)
