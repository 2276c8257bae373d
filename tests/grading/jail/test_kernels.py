"""The jailed kernel server (cnnlab.grading.jail.kernels and _kernels): the libraries imported once, a fresh kernel
forked for each submission; whatever a kernel does to its folders, its sockets, its server or the jail, the next
kernel starts clean and the grader never follows what it left."""

import os
from pathlib import Path

import nbformat
import pytest
import zmq
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from cnnlab.grading.jail import bwrap as jails
from cnnlab.grading.jail import policy
from cnnlab.grading.jail.jupyter import ServerKernelManager
from cnnlab.grading.jail.kernels import BASE_MODULES, KernelServer, KernelServerError, lab_modules

LIBC = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"


@pytest.fixture(scope="module")
def kernel_server(tmp_path_factory):
    """A kernel server without TensorFlow (its imports take a second or two), shared by the tests in order."""
    made = KernelServer(
        jails.probe(), policy.limits(4096, 120, 256, [], []), tmp_path_factory.mktemp("private"), BASE_MODULES
    )
    yield made
    made.close()


def run(server, *sources, timeout=60, kinds=False):
    """Run `sources` as cells in the server's next kernel, then kill it and start the next one ahead; the text of
    each cell's outputs (`kinds`: the kinds of each cell's outputs instead)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    manager = ServerKernelManager(server)
    client = NotebookClient(nb, km=manager, timeout=timeout, startup_timeout=60, allow_errors=True)
    client.shutdown_kernel = "immediate"
    try:
        with client.setup_kernel(cleanup_kc=True):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    finally:
        if manager.kernel is not None:
            manager.kernel.close()
        server.start_next()
    if kinds:
        return [[(o.output_type, sorted(o.get("data", {}))) for o in cell.outputs] for cell in nb.cells]
    return [
        "".join(o.get("text", "") or f"{o.get('ename')}: {o.get('evalue')}" for o in cell.outputs) for cell in nb.cells
    ]


def server_pid(server):
    """The server's pid, as this machine sees it: the Python below bubblewrap that started the kernels."""
    return server.process.pid if server.process else None


def test_the_lab_modules_are_what_the_release_imports_before_its_first_answer():
    root = Path(__file__).resolve().parents[3]
    modules = lab_modules(root / "labs" / "lab2_first_convnet" / "lab2_first_convnet.ipynb")
    assert modules[: len(BASE_MODULES)] == BASE_MODULES
    assert {"keras", "keras.layers", "cnnlab.data", "cnnlab.models", "cnnlab.train"} <= set(modules)


def test_each_kernel_is_a_fresh_fork_of_the_server_never_of_another_kernel(kernel_server):
    first = run(
        kernel_server,
        "import os, random, numpy as np\nsecret = 42\nopen('mine.txt', 'w').write('x')\n"
        "print(os.getpid(), os.getppid(), random.random(), np.random.rand(), sep=',')",
    )
    pid = server_pid(kernel_server)
    second = run(
        kernel_server,
        "import os, random, numpy as np\nprint('secret' in globals(), sorted(os.listdir('.')))\n"
        "print(os.getpid(), os.getppid(), random.random(), np.random.rand(), sep=',')",
    )
    assert second[0].splitlines()[0] == "False []"  # nothing of the first kernel: no variable, no file
    kernel1, parent1, *random1 = first[0].split(",")
    kernel2, parent2, *random2 = second[0].splitlines()[1].split(",")
    assert parent1 == parent2 and kernel1 != kernel2  # one kernel_server, two fresh children
    assert random1 != random2  # each kernel its own random state
    assert server_pid(kernel_server) == pid  # the imports were paid once


def test_a_figure_is_shown_at_the_end_of_its_cell_as_in_a_fresh_kernel(kernel_server):
    """pyplot is imported by the server, its inline backend by each kernel (which hooks it into that kernel)."""
    for _ in range(2):
        [shown] = run(kernel_server, "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nNone", kinds=True)
        assert shown == [("display_data", ["image/png", "text/plain"])]


def test_a_kernel_writes_nowhere_but_its_folders_and_cannot_move_them(kernel_server):
    [seen] = run(
        kernel_server,
        LIBC + "home = os.getcwd().encode()\nparent = os.path.dirname(os.getcwd()).encode()\nresults = {}\n"
        "for name, path in [('tmp', b'/tmp/x'), ('shm', b'/dev/shm/x'), ('root', b'/x'), ('parent', parent + b'/x'),"
        " ('etc', b'/etc/x')]:\n"
        "    results[name] = libc.open(path, 0o101, 0o644)\n"
        "results['rename'] = libc.rename(home, home + b'-moved')\n"
        "results['rmdir'] = libc.rmdir(home)\n"
        "results['link'] = libc.symlink(b'/etc', parent + b'/elsewhere')\n"
        "results['mkdir'] = libc.mkdir(parent + b'/next', 0o755)\n"
        "print(results, os.path.isdir(os.getcwd()))",
    )
    results, still_there = seen.rsplit(" ", 1)
    assert set(eval(results).values()) == {-1}, results
    assert still_there.strip() == "True"
    [refused] = run(kernel_server, "import os\nos.rename(os.getcwd(), os.getcwd() + '-moved')")
    assert "PermissionError" in refused and "refused" in refused


def test_the_grader_talks_to_the_sockets_the_kernel_bound_never_to_links_put_in_their_place(kernel_server, tmp_path):
    context = zmq.Context()
    evil = context.socket(zmq.ROUTER)  # a listener on the grader's side, where the kernel's links point
    evil.bind(f"ipc://{tmp_path / 'evil'}")
    manager = ServerKernelManager(kernel_server)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import glob, os\nfor path in glob.glob(os.environ['JUPYTER_RUNTIME_DIR'] + '/kernel-*-[0-9]'):\n"
                f"    os.rename(path, path + '.old')\n    os.symlink({str(tmp_path / 'evil')!r}, path)\n"
                "print('swapped')"
            ),
            nbformat.v4.new_code_cell("print('still here')"),
        ]
    )
    client = NotebookClient(nb, km=manager, timeout=60, startup_timeout=60, allow_errors=True)
    client.shutdown_kernel = "immediate"
    try:
        with client.setup_kernel(cleanup_kc=True):
            client.execute_cell(nb.cells[0], 0)
            heartbeat = context.socket(zmq.REQ)  # a connection made after the swap, as a reconnection would be
            heartbeat.connect(manager.kernel.url("hb"))
            heartbeat.send(b"ping")
            assert heartbeat.poll(10_000) and heartbeat.recv() == b"ping"  # the kernel's own heartbeat echoed it
            heartbeat.close(linger=0)
            client.execute_cell(nb.cells[1], 1)
    finally:
        manager.kernel.close()
        kernel_server.start_next()
    assert [o.get("text") for c in nb.cells for o in c.outputs] == ["swapped\n", "still here\n"]
    assert evil.poll(500) == 0  # nobody reached the listener the links point to
    evil.close(linger=0)
    context.term()


def test_folders_are_emptied_between_kernels_whatever_the_kernel_left(kernel_server):
    run(
        kernel_server,
        LIBC + "os.makedirs('locked/inner')\nos.chmod('locked/inner', 0)\nos.chmod('locked', 0)\n"
        "os.symlink('/etc', 'etc-link')\nos.mkfifo('fifo')\nfd = os.open('.', os.O_RDONLY)\n"
        "for _ in range(3000):  # natively: the audit hook would resolve each ever longer path\n"
        "    libc.mkdir(b'd', 0o755)\n    libc.chdir(b'd')\nlibc.fchdir(fd)\n"
        "open(os.environ['TMPDIR'] + '/left.txt', 'w').write('x')",
    )
    [seen] = run(
        kernel_server, "import os\nprint(sorted(os.listdir('.')), os.path.exists(os.environ['TMPDIR'] + '/left.txt'))"
    )
    assert seen == "[] False\n"


def test_a_kernel_that_takes_away_its_rights_to_its_folders_leaves_the_next_kernel_its_own(kernel_server):
    run(
        kernel_server,
        "import os\nfor folder in ('.', os.environ['TMPDIR'], os.environ['JUPYTER_RUNTIME_DIR']):\n"
        "    os.chmod(folder, 0)",
    )
    [seen] = run(
        kernel_server,
        "import os\nopen('mine.txt', 'w').write('x')\nopen(os.environ['TMPDIR'] + '/t', 'w')\nprint('written')",
    )
    assert seen == "written\n"


def test_a_kernel_that_leaves_a_process_ends_its_server(kernel_server):
    pid = server_pid(kernel_server)
    run(kernel_server, LIBC + "libc.system(b'setsid sleep 987653 >/dev/null 2>&1 &')\nimport time\ntime.sleep(0.5)")
    assert kernel_server.tainted == "the kernel left processes running"
    run(kernel_server, "print(1)")
    assert server_pid(kernel_server) != pid  # a fresh kernel_server
    assert not [p for p in os.listdir("/proc") if p.isdigit() and b"987653" in cmdline(p)]


def test_a_kernel_that_leaves_a_system_v_object_ends_its_server(kernel_server):
    pid = server_pid(kernel_server)
    run(kernel_server, LIBC + "print(libc.shmget(0, 4096, 0o1600))")
    assert kernel_server.tainted == "the kernel left System V IPC objects"
    run(kernel_server, "print(1)")
    assert server_pid(kernel_server) != pid


def test_no_posix_message_queue_can_be_made(kernel_server):
    [seen] = run(
        kernel_server,
        "import ctypes, os\nrt = ctypes.CDLL('librt.so.1', use_errno=True)\n"
        "print(rt.mq_open(b'/cnnlab-left', os.O_CREAT | os.O_RDWR, 0o600, None), ctypes.get_errno())",
    )
    assert seen.split()[0] == "-1"


def test_a_kernel_that_kills_its_server_is_a_dead_kernel_and_the_next_starts_fresh(kernel_server):
    pid = server_pid(kernel_server)
    with pytest.raises(DeadKernelError):
        run(kernel_server, "import os, time\nos.kill(os.getppid(), 9)\ntime.sleep(30)")
    assert kernel_server.exit is not None
    [seen] = run(kernel_server, "print('fresh')")
    assert seen == "fresh\n" and server_pid(kernel_server) != pid


def test_a_server_that_cannot_start_is_the_grader_fault(tmp_path):
    broken = jails.Jail("bwrap-user", "a broken jail", bwrap="/bin/false", readonly=jails.python_paths())
    server = KernelServer(broken, policy.limits(4096, 120, 256, [], []), tmp_path, BASE_MODULES)
    try:
        with pytest.raises(KernelServerError, match="jail did not start"):
            server.kernel()
    finally:
        server.close()
    assert os.listdir(tmp_path) == []


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_the_server_is_not_dumpable_and_ignores_the_signals_a_kernel_may_send(kernel_server):
    run(kernel_server, "print(1)")
    pid = server_pid(kernel_server)
    [seen] = run(
        kernel_server,
        "import os, signal\nfor signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):\n"
        "    os.kill(os.getppid(), signum)\n"
        "try:\n    open(f'/proc/{os.getppid()}/mem', 'rb')\nexcept OSError as error:\n    print(type(error).__name__)",
    )
    assert seen == "PermissionError\n"
    assert run(kernel_server, "print(2)") == ["2\n"] and server_pid(kernel_server) == pid
