"""Grading on a Slurm cluster (autograder/slurm/): a one-node Slurm started on this machine (munged, slurmctld and
slurmd as root, Debian's slurm-wlm and munge; its configuration, state and logs in a scratch folder, on free
ports), a class of lab 1 graded as a 4-task job array (`grade --shard i/4`) then merged by a dependent job; every
grade must equal the one-machine run's. Marked `cluster` (`make test-cluster`, which installs the packages when
missing); skipped where they are missing or not run as root."""

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from grading_helpers import LAB, ROOT, answered, index_of, released, write

from cnnlab.grading.cli import main

pytestmark = pytest.mark.cluster

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def slurm_conf(folder, munge_socket):
    host = socket.gethostname().split(".")[0]
    return f"""ClusterName=cnnlab-test
SlurmctldHost={host}
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
PlugStackConfig={folder}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
NodeName={host} CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=grading Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def cluster():
    """A one-node Slurm on this machine, for the tests of this module: the environment its commands need."""
    missing = [name for name in DAEMONS if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists()]
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)}): `make test-cluster` installs it")
    if os.geteuid() != 0:
        pytest.skip("the one-node Slurm runs its daemons as root")
    folder = Path(tempfile.mkdtemp(prefix="cnnlab-slurm-"))
    for name in ("state", "spool", "munge"):
        (folder / name).mkdir(mode=0o700)
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    munge_socket = folder / "munge" / "munge.socket"
    (folder / "plugstack.conf").write_text("")
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, munge_socket))
    env = dict(os.environ, SLURM_CONF=str(conf))
    processes = []
    try:
        subprocess.run(
            [
                "munged",
                f"--key-file={key}",
                f"--socket={munge_socket}",
                f"--pid-file={folder / 'munge' / 'munged.pid'}",
                f"--log-file={folder / 'munge' / 'munged.log'}",
                f"--seed-file={folder / 'munge' / 'munged.seed'}",
                "--force",
            ],
            check=True,
            capture_output=True,
        )
        for daemon in ("slurmctld", "slurmd"):
            processes.append(subprocess.Popen([daemon, "-D", "-f", str(conf)], env=env, stderr=subprocess.DEVNULL))
            time.sleep(1)
        deadline = time.monotonic() + 60
        while "State=IDLE" not in node_state(env) and time.monotonic() < deadline:
            time.sleep(1)
        assert "State=IDLE" in node_state(env), node_state(env) + (folder / "slurmctld.log").read_text()[-2000:]
        yield env
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        pid_file = folder / "munge" / "munged.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        shutil.rmtree(folder, ignore_errors=True)


def node_state(env):
    return subprocess.run(["scontrol", "show", "node"], env=env, capture_output=True, text=True).stdout


def job_state(env, job):
    shown = subprocess.run(["scontrol", "show", "job", job], env=env, capture_output=True, text=True).stdout
    return [word.split("=", 1)[1] for word in shown.split() if word.startswith("JobState=")]


def a_class(folder):
    """Eight students of lab 1 with different grades: answered, blank, one wrong answer or another."""
    write(folder / "s1" / LAB / f"{LAB}.ipynb", answered())
    write(folder / "s2" / LAB / f"{LAB}.ipynb", released())
    for student, grade_id in (("s3", "conv2d"), ("s4", "output_size"), ("s5", "conv_layer"), ("s6", "conv1x1")):
        nb = answered()
        cell = nb.cells[index_of(nb, grade_id)]
        cell.source = cell.source.split("\n")[0] + "\n    return 0\n"
        write(folder / student / LAB / f"{LAB}.ipynb", nb)
    nb = answered()
    nb.cells.insert(index_of(nb, "conv2d") + 1, nbformat.v4.new_code_cell("print('an extra cell')"))
    write(folder / "s7" / LAB / f"{LAB}.ipynb", nb)
    write(folder / "s8" / "notes.txt", b"no notebook")


def grades(out):
    with open(out / "grades.csv", newline="") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def test_a_class_graded_as_a_slurm_job_array_then_merged_gets_the_one_machine_grades(cluster, tmp_path):
    subs = tmp_path / "class"
    a_class(subs)
    single = tmp_path / "one-machine"
    assert main(["grade", "--lab", LAB, "--submissions", str(subs), "--out", str(single), "--quick"]) == 0
    out = tmp_path / "cluster"
    env = dict(cluster, CNNLAB_CPUS="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    submitted = subprocess.run(
        [ROOT / "autograder" / "slurm" / "submit.sh", LAB, subs, out, "4", "--quick"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    merge = submitted.split("merge job ")[1].split()[0]
    deadline = time.monotonic() + 900
    while job_state(env, merge) in (["PENDING"], ["RUNNING"]) and time.monotonic() < deadline:
        time.sleep(2)
    logs = {path.name: path.read_text() for path in sorted((out / "logs").glob("*.out"))}
    assert job_state(env, merge) == ["COMPLETED"], logs
    assert len([name for name in logs if name.startswith("grade-")]) == 4
    for name, log in logs.items():
        if name.startswith("grade-"):
            assert "kernel isolation on this machine: bubblewrap jail" in log, log
    assert grades(out) == grades(single)
    assert {row["status"] for row in grades(out).values()} == {"graded", "missing"}
    assert len({row["score"] for row in grades(out).values()}) >= 4
