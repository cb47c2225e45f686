"""Sandboxes for local shells: what a user's shell sees, who it runs as, how it ends.

- `bwrap`: bubblewrap puts the shell in new user, PID, IPC and UTS namespaces
  (and a network one, if asked), with a read-only view of the system, a private
  /tmp, its own /proc and the user's home; the server's data, its home, the
  host's /proc and /run and every path named to hide are simply not there. A
  server running as root first drops to the user's own uid, so the sandbox is
  unprivileged outside too, and process limits count (root is exempt from them).
  Ending the namespace's first process ends every process in it.
- `uid`: for a server running as root where user namespaces are refused (a
  container's usual seccomp profile): the shell runs as the user's own uid with
  no groups and no new privileges; a cgroup per session, where one can be made,
  finds and kills everything it started, else every process of that uid outside
  the user's other sessions is killed.
- `none`: the server's own user, for administrators, when set explicitly.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import resource
import shutil
import subprocess
import termios
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import anyio

from .cgroups import Cgroups
from .processes import (
    Proc,
    claim,
    descendants,
    kill_all,
    reap_strays,
    session_members,
    unclaim,
)
from .pty import LocalPty

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .cgroups import Session

BACKENDS = ("bwrap", "uid", "none")
# What of the host a bubblewrap sandbox sees, read-only; symbolic links stay links.
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
RCFILE = "/run/aiss/bashrc"
CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38


class SandboxUnavailable(Exception):
    """The backend cannot run here; the message says why."""


@dataclass(frozen=True)
class Limits:
    """Per-shell resource limits (0: none)."""

    processes: int = 256  # per sandbox (bwrap), per user (uid)
    open_files: int = 1024
    memory_bytes: int = 4 << 30  # address space per process, or the cgroup's memory.max
    cpu_seconds: int = 0  # per process
    tmp_bytes: int = 256 << 20  # the private /tmp (bwrap)
    nice: int = 10  # shells yield the CPU to the server


@dataclass(frozen=True)
class Config:
    homes: Path  # where the users' homes live on the host
    hide: tuple[Path, ...] = ()  # never visible to a shell (data dir, secrets, ...)
    network: bool = True
    limits: Limits = Limits()
    bwrap: str = "bwrap"
    bash_rc: bytes = b""  # sourced by interactive bash shells
    uids: range | None = None  # the shells' own uids (a server running as root)


@dataclass(frozen=True)
class Identity:
    """Whom a shell is for: the name it shows, its home on the host, the uid it runs as
    (None: the server's own)."""

    name: str
    home: Path
    uid: int | None = None

    @property
    def gid(self) -> int | None:
        return self.uid


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@dataclass(eq=False)
class Launch:
    """What to start for one shell, and how to end everything it starts."""

    sandbox: Sandbox
    identity: Identity
    argv: list[str]
    preexec: Callable[[], None]
    pass_fds: tuple[int, ...] = ()
    cgroup: Session | None = None
    pid: int = 0  # set once started

    def started(self, pid: int) -> None:
        self.pid = pid
        claim(pid)
        self.close_fds()

    def close_fds(self) -> None:
        for fd in self.pass_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.pass_fds = ()

    async def end(self) -> None:
        """Kill every process the shell started, wherever it went; reap what comes back."""
        try:
            await self.sandbox.end(self)
        finally:
            self.close_fds()
            reap_strays(self.sandbox.config.uids)

    def release(self) -> None:
        """Once the shell itself is reaped (or never started): forget it."""
        self.close_fds()
        unclaim(self.pid)
        self.sandbox.live.discard(self)
        if self.cgroup is not None:
            self.cgroup.remove()


class Sandbox:
    name: ClassVar[str]

    def __init__(self, config: Config, cgroups: Cgroups | None = None) -> None:
        self.config = config
        self.cgroups = cgroups  # a group per shell, where this server may make them
        self.live: set[Launch] = set()  # the shells started and not yet ended

    def home(self, identity: Identity) -> str:
        """The home's path as the shell sees it."""
        return str(identity.home)

    @property
    def rcfile(self) -> str:
        return str(self.config.homes / ".aiss-bashrc")

    def prepare(self, argv: Sequence[str], identity: Identity) -> Launch:
        raise NotImplementedError

    async def end(self, launch: Launch) -> None:
        raise NotImplementedError

    def _steps(
        self,
        identity: Identity,
        *,
        ctty: bool,
        processes: bool,
        chdir: bool,
        cgroup: Session | None = None,
        unshare_net: bool = False,
        private: bool = False,
    ) -> Callable[[], None]:
        """The child's steps between fork and exec, built here so the child runs no
        more than system calls."""
        limits = self.config.limits
        rlimits = [(resource.RLIMIT_CORE, 0)]
        if limits.open_files:
            rlimits.append((resource.RLIMIT_NOFILE, limits.open_files))
        if limits.memory_bytes and not (cgroup and cgroup.memory_limited):
            rlimits.append((resource.RLIMIT_AS, limits.memory_bytes))
        if limits.cpu_seconds:
            rlimits.append((resource.RLIMIT_CPU, limits.cpu_seconds))
        if processes and limits.processes:
            rlimits.append((resource.RLIMIT_NPROC, limits.processes))
        libc = _libc()
        uid, gid, home, nice = identity.uid, identity.gid, identity.home, limits.nice

        def child() -> None:
            if ctty:
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            if cgroup is not None:
                cgroup.join()
            for which, value in rlimits:
                resource.setrlimit(which, (value, value))
            if nice:
                os.setpriority(os.PRIO_PROCESS, 0, nice)
            if unshare_net and libc.unshare(CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "no network namespace")
            if uid is not None and gid is not None:
                os.setgroups([])
                os.setresgid(gid, gid, gid)
                os.setresuid(uid, uid, uid)
            if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "no_new_privs refused")
            if private:
                os.umask(0o077)  # /tmp and /dev/shm are shared with other users' shells
            if chdir:
                os.chdir(home)  # after the drop: the home must be reachable as its user

        return child

    def _launch(self, launch: Launch) -> Launch:
        self.live.add(launch)
        return launch

    def _session_cgroup(self) -> Session | None:
        if self.cgroups is None:
            return None
        limits = self.config.limits
        return self.cgroups.create(memory_bytes=limits.memory_bytes, processes=limits.processes)

    async def _end_cgroup(self, cgroup: Session) -> None:
        """Freeze the group (no more forks), note who is in it, kill them all, reap."""
        cgroup.freeze()
        with anyio.move_on_after(1):
            while not cgroup.frozen():  # noqa: ASYNC110 - the kernel offers no wake-up here
                await anyio.sleep(0.005)
        members = cgroup.members()  # the dead leave the group before they are reaped
        cgroup.kill()
        await kill_all(lambda procs: members | cgroup.members())

    def write_rcfile(self) -> None:
        """The bash integration, where every shell can read it and none can change it."""
        path = Path(self.rcfile)
        tmp = path.with_name(path.name + ".new")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as file:
            file.write(self.config.bash_rc)
        tmp.replace(path)


class Unsandboxed(Sandbox):
    name = "none"

    def prepare(self, argv: Sequence[str], identity: Identity) -> Launch:
        identity = Identity(identity.name, identity.home)  # the server's own user
        cgroup = self._session_cgroup()
        steps = self._steps(identity, ctty=True, processes=False, chdir=True, cgroup=cgroup)
        return self._launch(Launch(self, identity, list(argv), steps, cgroup=cgroup))

    async def end(self, launch: Launch) -> None:
        if launch.cgroup is not None:
            await self._end_cgroup(launch.cgroup)
            return

        # Without a cgroup a double-forked daemon is beyond reach here.
        def session(procs: list[Proc]) -> set[int]:
            return set(session_members(launch.pid, procs)) | descendants(launch.pid, procs)

        await kill_all(session)


def plain(argv: Sequence[str], cwd: Path) -> Launch:
    """A program on the server's own terms, without sandbox or limits (tools and tests)."""
    unlimited = Limits(processes=0, open_files=0, memory_bytes=0, tmp_bytes=0, nice=0)
    return Unsandboxed(Config(homes=cwd, limits=unlimited)).prepare(argv, Identity("", cwd))


class UidSandbox(Sandbox):
    """The shell as its user's own uid (the server must be root)."""

    name = "uid"

    def __init__(self, config: Config, cgroups: Cgroups | None) -> None:
        super().__init__(config, cgroups)
        if os.geteuid() != 0:
            raise SandboxUnavailable("the uid backend needs the server to run as root")

    def prepare(self, argv: Sequence[str], identity: Identity) -> Launch:
        if identity.uid is None:
            raise SandboxUnavailable("the uid backend needs a uid for each user")
        cgroup = self._session_cgroup()
        steps = self._steps(
            identity,
            ctty=True,
            processes=True,
            chdir=True,
            cgroup=cgroup,
            unshare_net=not self.config.network,
            private=True,
        )
        return self._launch(Launch(self, identity, list(argv), steps, cgroup=cgroup))

    async def end(self, launch: Launch) -> None:
        if launch.cgroup is not None:
            await self._end_cgroup(launch.cgroup)
            return
        uid = launch.identity.uid
        others = [o.pid for o in self.live if o is not launch and o.identity.uid == uid and o.pid]

        def theirs(procs: list[Proc]) -> set[int]:
            # Without a cgroup a double-forked daemon cannot be traced to its session:
            # everything of this uid goes, but for the user's other shells' own trees.
            spared: set[int] = set()
            for pid in others:
                spared |= {pid, *descendants(pid, procs), *session_members(pid, procs)}
            return {p.pid for p in procs if p.uid == uid} - spared

        await kill_all(theirs)


class BwrapSandbox(Sandbox):
    name = "bwrap"

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        found = shutil.which(config.bwrap)
        if found is None:
            raise SandboxUnavailable(f"bubblewrap ({config.bwrap}) is not installed")
        self.bwrap = found
        self.inner_uid = 1001 if os.getuid() == 1000 else 1000  # never the server's
        self.system = _system_view()

    def home(self, identity: Identity) -> str:
        return f"/home/{identity.name}"

    @property
    def rcfile(self) -> str:
        return RCFILE

    def prepare(self, argv: Sequence[str], identity: Identity) -> Launch:
        fds: list[int] = []
        try:
            args = self._args(argv, identity, fds)
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        steps = self._steps(identity, ctty=False, processes=False, chdir=False)
        return self._launch(Launch(self, identity, args, steps, pass_fds=tuple(fds)))

    def _args(self, argv: Sequence[str], identity: Identity, fds: list[int]) -> list[str]:
        inner, name, home = str(self.inner_uid), identity.name, self.home(identity)
        shell = argv[0]
        passwd = (
            f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"{name}:x:{inner}:{inner}:{name}:{home}:{shell}\n"
            f"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        )
        group = f"root:x:0:\n{name}:x:{inner}:\nnogroup:x:65534:\n"
        args = [
            self.bwrap,
            "--unshare-user",
            "--disable-userns",  # no nested namespaces to widen the attack surface from
            "--uid",
            inner,
            "--gid",
            inner,
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--hostname",
            "aiss",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
        ]
        if not self.config.network:
            args.append("--unshare-net")
        args += self.system
        args += ["--proc", "/proc", "--dev", "/dev"]
        size = ["--size", str(self.config.limits.tmp_bytes)] if self.config.limits.tmp_bytes else []
        # /tmp and /dev/shm are sized tmpfs (memory otherwise unbounded); /dev is read-only.
        args += [*size, "--tmpfs", "/tmp", *size, "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]
        args += ["--symlink", "/tmp", "/var/tmp", "--dir", "/run"]
        for path, text in (
            ("/etc/passwd", passwd),
            ("/etc/group", group),
            (RCFILE, self.config.bash_rc.decode()),
        ):
            args += ["--ro-bind-data", str(_data_fd(text.encode(), fds)), path]
        home_fd = os.open(identity.home, os.O_PATH | os.O_DIRECTORY)
        fds.append(home_fd)
        args += ["--bind-fd", str(home_fd), home, "--chdir", home]
        args += self._hidden()
        args += ["--remount-ro", "/"]  # the sandbox's own root: nothing to write there
        args.append("--")
        if self.config.limits.processes:
            # Set inside the user namespace, so it counts only this sandbox's processes.
            args += ["prlimit", f"--nproc={self.config.limits.processes}", "--"]
        # bwrap's --new-session leaves no controlling terminal: take the PTY again
        # (-c), and wait (-w) so the namespace lives exactly as long as the shell.
        return [*args, "setsid", "-w", "-c", *argv]

    def _hidden(self) -> list[str]:
        """Cover what is asked to be hidden where the system view would show it."""
        args: list[str] = []
        roots = [Path(p) for p in SYSTEM if Path(p).is_dir() and not Path(p).is_symlink()]
        for path in {p.resolve() for p in self.config.hide}:  # through links, as bwrap sees
            if not any(path == root or root in path.parents for root in roots):
                continue  # outside the view: not there anyway
            if path.is_dir():
                args += ["--tmpfs", str(path)]
            elif path.exists():
                args += ["--ro-bind", "/dev/null", str(path)]
        return args

    async def end(self, launch: Launch) -> None:
        # Killing the namespace's first process ends the whole namespace; the outer
        # bwrap then exits by itself, and its owner reaps it.
        await kill_all(lambda procs: descendants(launch.pid, procs))


def _data_fd(data: bytes, fds: list[int]) -> int:
    read, write = os.pipe()
    fds.append(read)
    try:
        os.write(write, data)  # small: fits the pipe's buffer
    finally:
        os.close(write)
    return read


def _system_view() -> list[str]:
    args = []
    for path in SYSTEM:
        p = Path(path)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), path]
        elif p.is_dir():
            args += ["--ro-bind", path, path]
    return args


@dataclass
class Probe:
    """What `choose` found: the sandbox that runs, or why none does."""

    sandbox: Sandbox | None
    tried: dict[str, str] = field(default_factory=dict)  # backend: why it did not run

    @property
    def name(self) -> str | None:
        return self.sandbox.name if self.sandbox else None


def build(name: str, config: Config) -> Sandbox:
    if name == "bwrap":
        return BwrapSandbox(config)
    if name == "uid":
        return UidSandbox(config, Cgroups.find())
    return Unsandboxed(config, Cgroups.find())


def choose(wanted: str, config: Config, probe_identity: Identity) -> Probe:
    """The first of the wanted backends that really runs a shell here.

    `auto` tries bwrap, then uid. Each is probed by running a sandboxed `true` on a
    terminal, the way a shell starts."""
    names = ("bwrap", "uid") if wanted == "auto" else (wanted,)
    found = Probe(None)
    for name in names:
        try:
            sandbox = build(name, config)
            _probe(sandbox, probe_identity)
        except (SandboxUnavailable, OSError, subprocess.SubprocessError) as exc:
            found.tried[name] = str(exc) or type(exc).__name__
            continue
        found.sandbox = sandbox
        break
    return found


def _probe(sandbox: Sandbox, identity: Identity) -> None:
    if isinstance(sandbox, Unsandboxed):
        return
    pty = LocalPty.spawn(
        sandbox.prepare(["/bin/true"], identity), env={"PATH": "/usr/bin:/bin"}, cols=80, rows=24
    )
    try:
        try:
            code = pty.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pty.process.kill()
            pty.process.wait()
            raise SandboxUnavailable("the probe did not end within 10 s") from None
        if code != 0:
            said = b""
            with contextlib.suppress(OSError):
                said = os.read(pty.master, 2000)
            text = said.decode(errors="replace").strip() or "no output"
            raise SandboxUnavailable(f"a sandboxed `true` failed ({code}): {text}")
    finally:
        pty.launch.release()
        pty.close()
