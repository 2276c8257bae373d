"""The jail itself (bubblewrap), with a bare Python in it: what it sees, what it can reach, its limits."""

import json
import socket
import subprocess
import sys
import threading

import pytest
from grading_helpers import ROOT, TINY, set_tiny_weights, tiny_config, tiny_model, tiny_test_set

from cnnlab.grading.course import labconfig
from cnnlab.grading.jail import bwrap as jails
from cnnlab.grading.modelcheck.checks import ModelSandbox, run_model
from cnnlab.grading.modelcheck.server import GraderFault


@pytest.fixture(scope="module")
def jail():
    return jails.probe()


def jailed(jail, tmp_path, source, **limits):
    """Run `source` in the jail, under the sandbox's limits; its stdout parsed as JSON."""
    argv = [
        sys.executable,
        "-m",
        "cnnlab.grading.jail._inside",
        "--limits",
        json.dumps({"writable": [str(tmp_path)], **limits}),
        "--",
        sys.executable,
        "-m",
        "runpy_source",
    ]
    (tmp_path / "runpy_source.py").write_text(source)
    done = subprocess.run(
        jails.command(jail, argv, writable=[tmp_path], cwd=tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{tmp_path}"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_jail_sees_only_its_folder_the_environment_and_no_other_process(jail, tmp_path):
    seen = jailed(
        jail,
        tmp_path,
        "import json, os\nprint(json.dumps({'uid': os.getuid(), 'pids': [p for p in "
        f"os.listdir('/proc') if p.isdigit()], 'repo': sorted(os.listdir({str(ROOT)!r})), "
        "'home': os.path.exists('/root/.bashrc'), 'tmp': os.listdir('/tmp'), "
        "'etc': os.access('/etc/passwd', os.R_OK)}))",
    )
    assert seen["uid"] == jails.INSIDE_UID
    assert len(seen["pids"]) <= 4  # bwrap's init, the inner bwrap, this Python
    assert set(seen["repo"]) <= {"cnnlab", ".venv"}  # no solutions/, autograder/, tests/ (the venv may live here)
    assert not seen["home"]
    assert seen["etc"]  # the few files of /etc it is given are readable (the loader's cache, passwd)
    # only the paths down to its own folder and, for a clone that lives in /tmp, to the repository checked above
    paths_down = {tmp_path.parts[2]} | ({ROOT.parts[2]} if ROOT.parts[:2] == ("/", "tmp") else set())
    assert set(seen["tmp"]) <= paths_down


def test_native_code_cannot_write_outside_reach_the_network_or_fork_without_limit(jail, tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    outside = tmp_path.parent / f"{tmp_path.name}-escape"
    source = f"""
import ctypes, ctypes.util, json, os, struct
libc = ctypes.CDLL(None, use_errno=True)
open('inside', 'w').write('x')
results = {{'rename': libc.rename(b'inside', {str(outside).encode()!r}),
            'link': libc.link(b'inside', {str(outside).encode()!r}),
            'symlink': libc.symlink(b'inside', {str(outside).encode()!r})}}
fd = libc.socket(2, 1, 0)
address = struct.pack('=H', 2) + struct.pack('!H4s8x', {port}, bytes([127, 0, 0, 1]))  # sockaddr_in
results['connect'] = libc.connect(fd, address, len(address))
children = 0
for _ in range(200):
    pid = libc.fork()
    if pid == 0:
        libc.pause()
    if pid < 0:
        break
    children += 1
results['children'] = children
print(json.dumps(results))
"""
    results = jailed(jail, tmp_path, source, processes=40)
    assert results["rename"] == results["link"] == results["symlink"] == -1
    assert not outside.exists()
    assert results["connect"] == -1 and not accepted
    assert results["children"] < 40
    listener.close()


def test_a_jail_that_cannot_start_is_the_grader_fault_not_the_student(tmp_path):
    tiny_test_set(tmp_path / "tiny_test.npz")
    set_tiny_weights(tiny_model()).save(tmp_path / f"{TINY}.keras")
    broken = jails.Jail("bwrap-user", "a broken jail", bwrap="/bin/false", readonly=jails.python_paths())
    spec = labconfig.parse(TINY, tiny_config()).models[0]
    with pytest.raises(GraderFault, match="jail did not start"):
        run_model(spec, tmp_path, tmp_path, sandbox=ModelSandbox(broken, work=str(tmp_path)))


def test_without_bubblewrap_the_grader_refuses_unless_told_it_is_unsafe(monkeypatch):
    monkeypatch.setattr(jails.shutil, "which", lambda name: None)
    with pytest.raises(jails.JailError, match="bubblewrap is not installed.*--unsafe-no-sandbox"):
        jails.probe()
    unsafe = jails.probe(allow_unsafe=True)
    assert not unsafe.jailed and unsafe.description.startswith("UNSAFE")
    assert jails.command(unsafe, ["python", "-c", "1"]) == ["python", "-c", "1"]
