"""The jailed model server (cnnlab.grading.modelcheck.server and model_probe): Keras imported once, a fresh child per
model file, and whatever a check does to its child or to the server, the next check starts clean."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from grading_helpers import ROOT, TINY, set_tiny_weights, tiny_config, tiny_model, tiny_test_set

from cnnlab.grading.course import labconfig
from cnnlab.grading.jail import bwrap as jails
from cnnlab.grading.modelcheck import checks


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    tiny_test_set(folder / "tiny_test.npz")
    set_tiny_weights(tiny_model()).save(folder / f"{TINY}.keras")
    return folder


@pytest.fixture
def sandbox(tmp_path):
    made = checks.ModelSandbox(jails.probe(), work=str(tmp_path), timeout_s=120)
    yield made
    made.server.close()


def passes(sandbox, tiny_dir):
    spec = labconfig.parse(TINY, tiny_config()).models[0]
    run = checks.run_model(spec, tiny_dir, tiny_dir, sandbox=sandbox)
    return run.outcome, [r.passed for r in run.results]


def children(pid):
    """The pids of the processes below `pid` (the jail's bwrap, the server, its forked child)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in os.listdir(f"/proc/{parent}/task"):
            try:
                kids = [int(p) for p in open(f"/proc/{parent}/task/{task}/children").read().split()]
            except FileNotFoundError:
                kids = []
            found += kids
            todo += kids
    return found


def server_pid(sandbox):
    """The server's own pid (the Python process that forks the children), as this machine sees it."""
    pythons = [
        pid
        for pid in children(sandbox.server.process.pid)
        if open(f"/proc/{pid}/cmdline").read().split("\0")[1:3] == ["-m", "cnnlab.grading.jail._inside"]
    ]
    [server] = [pid for pid in pythons if _parent(pid) not in pythons]
    return server


def _parent(pid):
    stat = open(f"/proc/{pid}/stat").read()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def test_one_server_checks_many_models_each_in_a_fresh_child(sandbox, tiny_dir):
    assert passes(sandbox, tiny_dir) == ("measured", [True] * 4)
    server = server_pid(sandbox)
    assert [passes(sandbox, tiny_dir) for _ in range(3)] == [("measured", [True] * 4)] * 3
    assert server_pid(sandbox) == server  # Keras was imported once
    assert os.listdir(sandbox.server.scratch) == []  # nothing of one check is left for the next


def test_a_child_killed_while_it_checks_fails_its_model_only(sandbox, tiny_dir):
    passes(sandbox, tiny_dir)  # the server is ready
    server = server_pid(sandbox)

    def kill_the_child():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for pid in children(server):
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_the_child)
    killer.start()
    spec = labconfig.parse(TINY, tiny_config()).models[0]
    run = checks.run_model(spec, tiny_dir, tiny_dir, sandbox=sandbox)
    killer.join()
    assert run.outcome == "crashed" and "killed by signal 9" in run.reason, run.reason
    assert passes(sandbox, tiny_dir) == ("measured", [True] * 4)
    assert server_pid(sandbox) == server  # a child's death is not the server's


def test_a_dead_server_is_replaced_and_a_slow_check_is_stopped(sandbox, tiny_dir):
    passes(sandbox, tiny_dir)
    os.kill(server_pid(sandbox), signal.SIGKILL)  # between two checks
    assert passes(sandbox, tiny_dir) == ("measured", [True] * 4)
    sandbox.timeout_s = 0.001
    spec = labconfig.parse(TINY, tiny_config()).models[0]
    run = checks.run_model(spec, tiny_dir, tiny_dir, sandbox=sandbox)
    assert run.outcome == "timeout" and "longer than 0.001 s" in run.reason, run.reason
    assert sandbox.server.process is None  # that server and its jail are gone
    sandbox.timeout_s = 120
    assert passes(sandbox, tiny_dir) == ("measured", [True] * 4)


def test_what_a_check_leaves_running_is_found_and_killed():
    """The server's look after each child (it is a child subreaper: whatever a check left is its child); in a
    fresh interpreter, whose only child is the one it leaves."""
    source = (
        "import json, os, subprocess, sys\n"
        "from cnnlab.grading.modelcheck._probe import _left_running, _taint\n"
        "left = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "seen = _left_running()\n"
        "print(json.dumps([seen == [left.pid], _taint(set()), _left_running(), os.path.exists(f'/proc/{left.pid}')]))\n"
    )
    done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert json.loads(done.stdout) == [True, "the check left processes running", [], False], done.stderr


def test_the_server_may_fork_and_its_children_may_not(tmp_path):
    source = (
        "import json, os\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    try:\n"
        "        os.fork()\n"
        "        os._exit(3)\n"
        "    except PermissionError:\n"
        "        os._exit(7)\n"
        "print(json.dumps({'child': os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}))\n"
    )
    (tmp_path / "forks.py").write_text(source)
    argv = [
        sys.executable,
        "-m",
        "cnnlab.grading.jail._inside",
        "--limits",
        '{"fork_server": true}',
        "--",
        sys.executable,
        "-m",
        "forks",
    ]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"},
    )
    assert done.stdout.strip() == '{"child": 7}', done.stderr


def test_a_model_that_explodes_at_predict_time_fails_alone(sandbox, tiny_dir, tmp_path):
    """Connected, allowed layers and 10 parameters, but 3.2 GB of output per image: the prediction cannot fit in
    the check's memory. That model's accuracy fails; the next model, in the same server, is graded in full."""
    import keras

    inputs = keras.Input((4,), name="input")
    x = keras.layers.Dense(2, name="fc_out")(inputs)
    x = keras.layers.Reshape((1, 1, 2))(x)
    outputs = keras.layers.UpSampling2D(size=(20000, 20000))(x)
    bomb = tmp_path / "bomb"
    bomb.mkdir()
    keras.Model(inputs, outputs, name=TINY).save(bomb / f"{TINY}.keras")
    spec = labconfig.parse(TINY, tiny_config()).models[0]
    run = checks.run_model(spec, bomb, tiny_dir, sandbox=sandbox)
    accuracy = run.results[-1]
    assert not accuracy.passed and accuracy.score == 0, accuracy
    assert passes(sandbox, tiny_dir) == ("measured", [True] * 4)
