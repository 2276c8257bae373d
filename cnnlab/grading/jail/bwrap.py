"""The operating system's jail for untrusted code (a student's kernel, a student's model file): bubblewrap.

`probe()` finds what this machine allows; `command(jail, argv, writable, readonly)` wraps a command line in it.
Inside, the command sees only: the Python environment (the venv and its base interpreter) and cnnlab's package,
read-only; `/usr` and a few files of `/etc`, read-only; a private `/proc` (its own PID namespace: no other
process is visible), a minimal `/dev` and an empty `/tmp`; the `readonly` paths it is given and its `writable`
folders, each at its own path. It has its own user, PID, network (no interface but a loopback that is down),
IPC, mount, UTS and cgroup namespaces, runs as uid 1000 with no capabilities, cannot make user namespaces of its
own, dies with the process that started it (`--die-with-parent`), and has no terminal (`--new-session`).

Two ways in, by who runs the grader:

- root (a grading server, CI): bwrap as root sets up the namespaces and mounts (root can read the venv under
  `/root`), then `setpriv` drops to `JAIL_UID` (not root: a fork bomb meets `RLIMIT_NPROC`, which Linux never
  applies to root), and a second bwrap, now unprivileged, gives it its own user namespace (uid 1000 inside).
  Its writable folders are handed to `JAIL_UID` (chown) just before the drop.
- any other user with unprivileged user namespaces (an instructor's laptop): one bwrap as that user.

The resource limits (`RLIMIT_AS`, `RLIMIT_CPU`, `RLIMIT_NPROC`, `RLIMIT_FSIZE`, no core dumps) are set inside by
`cnnlab.grading.jail._inside`, which then runs the command's Python module.
"""

import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cnnlab.grading.paths import ROOT

JAIL_UID = 64123  # an id no account uses: the jailed processes' owner outside their namespace (root mode)
INSIDE_UID = 1000
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "passwd", "group", "hosts")


class JailError(RuntimeError):
    """The jail cannot be made here; the message says why and what to do."""


@dataclass
class Jail:
    """How this machine jails untrusted code: `mode` is "bwrap-root", "bwrap-user" or "none"."""

    mode: str
    description: str
    bwrap: str = ""
    setpriv: str = ""
    uid: int = JAIL_UID
    readonly: list = field(default_factory=list)  # the Python environment and cnnlab, seen by every jail

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, data):
        return cls(**data)

    @property
    def jailed(self):
        return self.mode != "none"


def python_paths():
    """What a jailed Python needs read-only: the venv, its base interpreter, and cnnlab's package (not the repo)."""
    paths = {sys.prefix, sys.base_prefix, str(ROOT / "cnnlab")}
    return sorted(p for p in paths if os.path.isdir(p) and not _under(p, "/usr"))


def _under(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def _system_binds():
    """Read-only binds of the system: /usr, the merged-/usr links (or the real folders), a few files of /etc."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--perms", "0755", "--dir", "/etc"]  # bwrap's own folders are 0700: the jailed uid could not enter
    for name in ETC:
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args


def _binds(paths, flag, made, mounts):
    """`--dir` (mode 0755: the jailed uid must pass through; bwrap's own are 0700) for each parent not yet made,
    then the binds. `made`: folders that exist in the jail; `mounts`: binds, in which nothing can be made."""
    args = []
    for path in sorted(paths, key=lambda p: (p.count("/"), p)):
        parents = []
        parent = os.path.dirname(path)
        while parent not in ("/", "") and parent not in made and not any(_under(parent, m) for m in mounts):
            parents.append(parent)
            parent = os.path.dirname(parent)
        for p in reversed(parents):
            args += ["--perms", "0755", "--dir", p]
            made.add(p)
        args += [flag, path, path]
        made.add(path)
        mounts.add(path)
    return args


def command(jail, argv, writable=(), readonly=(), cwd=None):
    """`argv` run in `jail`: it sees the system, the Python environment, `readonly` and (read-write) `writable`."""
    if not jail.jailed:
        return list(argv)
    made, mounts = {"/tmp", "/proc", "/dev", "/etc"}, {"/usr", "/proc", "/dev"}
    writable = [os.path.realpath(p) for p in writable]
    readonly = [os.path.realpath(p) for p in [*jail.readonly, *readonly]]
    namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    outer = [
        jail.bwrap,
        *namespaces,
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "cnnlab-jail",
        *_system_binds(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        *_binds(readonly, "--ro-bind", made, mounts),
        *_binds(writable, "--bind", made, mounts),
        "--chdir",
        os.path.realpath(cwd or (writable[0] if writable else "/tmp")),
    ]
    if jail.mode == "bwrap-user":
        return [
            *outer,
            "--unshare-user",
            "--uid",
            str(INSIDE_UID),
            "--gid",
            str(INSIDE_UID),
            "--disable-userns",
            "--",
            *argv,
        ]
    # root: hand the writable folders to jail.uid, drop to it for good, then an unprivileged bwrap makes the
    # user namespace. `sh -c SCRIPT UID FOLDER... -- COMMAND...`: chown each folder, then exec the command.
    handover = [
        "/bin/sh",
        "-c",
        'u="$0"; while [ "$1" != "--" ]; do chown -R "$u:$u" "$1" || exit 125; shift; done; shift; exec "$@"',
        str(jail.uid),
        *writable,
        "--",
    ]
    drop = [
        jail.setpriv,
        "--reuid",
        str(jail.uid),
        "--regid",
        str(jail.uid),
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]
    inner = [
        jail.bwrap,
        "--unshare-user",
        "--uid",
        str(INSIDE_UID),
        "--gid",
        str(INSIDE_UID),
        "--disable-userns",
        "--die-with-parent",
        "--dev-bind",
        "/",
        "/",
        "--chdir",
        outer[-1],
        "--",
    ]
    return [*outer, "--", *handover, *drop, *inner, *argv]


def probe(allow_unsafe=False):
    """The jail this machine allows, tried for real (`true` in it); without one, JailError unless `allow_unsafe`."""
    bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
    root = os.geteuid() == 0
    why = ""
    if bwrap is None:
        why = "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    elif root and setpriv is None:
        why = "setpriv (util-linux) is not installed: as root the jail needs it to drop to an unprivileged uid"
    else:
        mode = "bwrap-root" if root else "bwrap-user"
        jail = Jail(mode, "", bwrap, setpriv or "", readonly=python_paths())
        trial = subprocess.run(command(jail, ["/bin/true"]), capture_output=True, text=True)
        if trial.returncode == 0:
            who = f"as root, dropping to uid {JAIL_UID}" if root else f"as uid {os.geteuid()}"
            jail.description = (
                f"bubblewrap jail ({who}; own user, PID, network, IPC, mount, UTS namespaces; "
                f"uid {INSIDE_UID} inside), rlimits, audit hook"
            )
            return jail
        why = f"bubblewrap cannot make its namespaces here ({(trial.stderr or trial.stdout).strip()[:200]})"
    if not allow_unsafe:
        raise JailError(
            f"no jail for untrusted code on this machine: {why}. Grade on Linux with bubblewrap and "
            f"user namespaces, or pass --unsafe-no-sandbox for work you trust (the results record it)"
        )
    return Jail(
        "none",
        f"UNSAFE, no sandbox (--unsafe-no-sandbox: {why}); rlimits and audit hook only, which native code can bypass",
    )
