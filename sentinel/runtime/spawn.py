"""Starting one child: its own session, output into its named pipe, no inherited descriptors.

Called by `manager.Runtime.spawn`. Every failure becomes a one-line `SpawnError` naming the
instance ("web: command not found: nosuchprog"), never a traceback.

The child gets the FIFO opened read-write as stdout and stderr (merged, in the order written),
/dev/null as stdin, and no other descriptor (docs/reliability.md#f44-inherited-descriptors). Its environment is
`req.env` plus `SENTINEL_TREE` (see `signals`), which lets a stop find descendants that left the tree.
Its soft open-file limit is `req.nofile`: `limits.nofile`, else the one the reconciler started with (the
reconciler raises its own, docs/limitations.md; a child must not inherit that).
Reaping is ours from the moment it runs: `exits` waits for this pid alone (docs/reliability.md#f05-a-global-reaper), so
the Popen object is dropped at once.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import pwd
import resource
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from sentinel.errors import SpawnError
from sentinel.reconcile.launch import LaunchFacts, nofile_problem
from sentinel.reconcile.observed import ProcessIdentity
from sentinel.runtime import probe
from sentinel.runtime.capture import ensure_fifo
from sentinel.runtime.signals import TREE_VAR
from sentinel.users import Credentials, UserProblem, credentials

SPEC_VAR = "SENTINEL_SPEC"  # in the leader's environment: the digest of the spec it was started with

# Stands in for the creation time of a child that was reaped by someone else before we could
# read it (SIGCHLD ignored): it matches no process, so the exit watcher reports the exit at once.
UNKNOWN_START = 0.0


@dataclass(frozen=True, slots=True)
class SpawnRequest:
    """What to run. `env` is the child's environment (plus SENTINEL_TREE, and SENTINEL_SPEC set to `spec`);
    `user` runs it as that user (root only)."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str
    user: str | None
    fifo: Path
    spec: str = ""  # the instance's spec digest: a reconciler that lost state.db adopts on it (reconcile.strays)
    nofile: int | None = None  # the soft RLIMIT_NOFILE to start it with; None: this process's


@dataclass(frozen=True, slots=True)
class Spawned:
    """A started child: its identity and its process group (its own session: pgid == pid)."""

    name: str
    identity: ProcessIdentity
    pgid: int


def spawn(req: SpawnRequest) -> Spawned:
    """Start `req` in a new session writing to its FIFO; raises SpawnError."""
    if not req.argv:
        raise SpawnError(f"{req.name}: empty command")
    creds = _credentials(req)
    limit = _limit(req)
    env = dict(creds.env if creds else req.env)
    env[TREE_VAR] = tree_tag(req.fifo)
    if req.spec:
        env[SPEC_VAR] = req.spec
    ensure_fifo(req.fifo)
    out = os.open(req.fifo, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        with limit.around_spawn():
            proc = subprocess.Popen(
                req.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=req.cwd,
                env=env,
                start_new_session=True,
                close_fds=True,
                user=creds.uid if creds else None,
                group=creds.gid if creds else None,
                extra_groups=list(creds.groups) if creds else None,
                # Only with a great many descriptors open (see `_Limit`): runs in the child between fork and
                # exec and only calls setrlimit (no lock of ours; glibc's fork leaves malloc usable).
                preexec_fn=limit.in_child,  # noqa: PLW1509
            )
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        raise SpawnError(_describe(req, exc)) from None
    finally:
        os.close(out)
    # The exit watcher reaps this pid itself; marking the Popen done keeps its finalizer from
    # warning or queueing the pid for subprocess._cleanup(), which would reap it behind our back.
    # (asyncio's subprocess transport sets returncode the same way.)
    proc.returncode = 0
    identity = probe.identify(proc.pid) or ProcessIdentity(proc.pid, UNKNOWN_START)
    return Spawned(name=req.name, identity=identity, pgid=proc.pid)


def launch_facts(argv: tuple[str, ...], cwd: str, user: str | None, env: Mapping[str, str],
                 nofile: int | None = None) -> LaunchFacts:
    """What `reconcile.launch` needs to say whether `argv` can be started in `cwd` as `user` with `nofile`."""
    program = argv[0] if argv else ""
    cwd_found = os.path.isdir(cwd)
    if os.sep in program:
        path: str | None = os.path.join(cwd, program)
        found = os.path.exists(os.path.join(cwd, program))
    else:
        path = shutil.which(program, mode=os.F_OK, path=env.get("PATH", os.defpath))
        found = path is not None
    runnable = path is not None and os.path.isfile(path) and os.access(path, os.X_OK)
    user_found = True
    if user is not None:
        try:
            pwd.getpwnam(user)
        except KeyError:
            user_found = False
    return LaunchFacts(program=program, program_found=found, program_runnable=runnable, cwd=cwd,
                       cwd_found=cwd_found, user=user, user_found=user_found, nofile=nofile,
                       nofile_hard=_finite(resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def tree_tag(fifo: Path) -> str:
    """The `SENTINEL_TREE` value of an instance's processes: its FIFO path, unique per state dir and instance."""
    return str(fifo)


FD_MARGIN = 64  # descriptors the spawn itself and other threads may open while our own limit is lowered


@dataclass(frozen=True, slots=True)
class _Limit:
    """How a child gets its soft open-file limit without slowing every spawn down.

    A `preexec_fn` would do it in the child, but makes Popen fork instead of vfork: several ms per
    spawn. So our own soft limit is set to the child's for the moment of the spawn (the child inherits
    it) and set back at once. Lowering it is safe while the descriptors we hold leave `FD_MARGIN`
    numbers free under the lower limit (a new descriptor takes the lowest free number); with more
    open than that, the child sets its own limit through `in_child` (the slow way) instead.
    """

    wanted: int | None = None  # our soft limit during the spawn
    restore: int | None = None  # and after it
    hard: int = 0
    in_child: Callable[[], None] | None = None

    @contextlib.contextmanager
    def around_spawn(self) -> Iterator[None]:
        if self.wanted is None or self.restore is None:
            yield
            return
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.wanted, self.hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.restore, self.hard))


def _limit(req: SpawnRequest) -> _Limit:
    """How to give the child `req.nofile` (limits.nofile, or the soft limit the reconciler started with,
    docs/limitations.md). Raises SpawnError above the hard limit."""
    if req.nofile is None:
        return _Limit()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    problem = nofile_problem(req.nofile, _finite(hard))
    if problem is not None:
        raise SpawnError(f"{req.name}: {problem}")
    if req.nofile == soft:
        return _Limit()
    if req.nofile > soft or _open_descriptors() + FD_MARGIN <= req.nofile:
        return _Limit(wanted=req.nofile, restore=soft, hard=hard)
    return _Limit(hard=hard, in_child=functools.partial(resource.setrlimit, resource.RLIMIT_NOFILE,
                                                        (req.nofile, hard)))


def _open_descriptors() -> int:
    try:
        return len(os.listdir("/proc/self/fd")) - 1  # less the one listdir opened
    except OSError:
        return psutil.Process().num_fds()


def _finite(limit: int) -> int | None:
    return None if limit == resource.RLIM_INFINITY else limit


def _credentials(req: SpawnRequest) -> Credentials | None:
    """The uid/gid/groups and HOME/USER/LOGNAME for `req.user`; None to run as ourselves."""
    try:
        return credentials(req.user, req.env)
    except UserProblem as exc:
        raise SpawnError(f"{req.name}: {exc}") from None


def _describe(req: SpawnRequest, exc: BaseException) -> str:
    """One line: the instance, then what could not be done."""
    return f"{req.name}: {_problem(req, exc)}"


def _problem(req: SpawnRequest, exc: BaseException) -> str:
    program = req.argv[0]
    if not isinstance(exc, OSError) or not exc.errno:
        return f"cannot start {program}: {exc}"
    reason = os.strerror(exc.errno).lower()
    if exc.filename is not None and str(exc.filename) == req.cwd:
        return f"cwd {req.cwd}: {'no such directory' if exc.errno == errno.ENOENT else reason}"
    if exc.filename is None and req.user is not None:
        return f"cannot run as user '{req.user}': {reason}"
    known = {errno.ENOENT: "command not found", errno.EACCES: "permission denied"}
    if exc.errno in known:
        return f"{known[exc.errno]}: {program}"
    return f"cannot start {program}: {reason}"
