"""Where the reconciler keeps its files: the state directory of docs/contract.md#state-directory, and how they are
opened.

`--state-dir`, else `$SENTINEL_HOME`, else the platform default. Path arithmetic, plus the
two ways in (docs/security.md): `ensure` creates the directories owner-only, or refuses
existing ones that are not this user's alone (they are never chmod'ed); `open_private`
opens a file inside one without following a symbolic link at any step the reconciler owns.
Every layer may use it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from sentinel.errors import SentinelError, StateDirUnusable, UnsafeStateDir

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def default_state_dir(environ: Mapping[str, str], platform: str = sys.platform) -> Path:
    """`~/Library/Application Support/SentinelZero` on macOS, `${XDG_STATE_HOME:-~/.local/state}/sentinel` elsewhere."""
    home = Path(environ.get("HOME") or Path.home())
    if platform == "darwin":
        return home / "Library" / "Application Support" / "SentinelZero"
    xdg = environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "state"
    return base / "sentinel"


class StateDir(NamedTuple):
    """The files of one reconciler's state directory. (A NamedTuple rather than a dataclass, as `errors.Problem`:
    `status` does not import `dataclasses`.)"""

    root: Path

    @classmethod
    def resolve(cls, given: str | None, environ: Mapping[str, str]) -> StateDir:
        chosen = given or environ.get("SENTINEL_HOME")
        return cls(Path(chosen).expanduser().absolute() if chosen else default_state_dir(environ))

    @property
    def db(self) -> Path:
        return self.root / "state.db"

    @property
    def socket(self) -> Path:
        return self.root / "sentinel.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "sentinel.pid"

    @property
    def daemon_log(self) -> Path:
        return self.root / "sentinel.log"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        """Named pipes that carry each process's output (they outlive the reconciler)."""
        return self.root / "run"

    @property
    def host_file(self) -> Path:
        """Who the last reconciler was for `hosts:` selectors (its hostname and labels), kept for the next."""
        return self.root / "host.json"

    @property
    def source(self) -> Path:
        """The git source's repository and checkouts (docs/gitops.md), owner-only like the rest."""
        return self.root / "source"

    def ensure_source(self) -> Path:
        """The source directory, created 0700 or checked as `ensure` checks the others."""
        with self.in_use():
            os.close(_private_directory(self.source))
        return self.source

    def log_file(self, instance: str) -> Path:
        return self.logs / f"{instance}.log"

    def fifo(self, instance: str) -> Path:
        return self.run / f"{instance}.fifo"

    @property
    def files(self) -> tuple[Path, ...]:
        """The files the reconciler (or SQLite for it) opens by name in the root."""
        db = str(self.db)
        return (self.pidfile, self.daemon_log, self.host_file, self.db,
                *(Path(db + suffix) for suffix in ("-wal", "-shm", "-journal")))

    def ensure(self) -> None:
        """Create the directories owner-only (0700, whatever the umask), or check the existing ones: each
        must be a real directory (no symbolic link), owned by this user, with no access for anyone else.
        Raises UnsafeStateDir; a directory it did not create is never chmod'ed. The files the reconciler
        opens by name must not be symbolic links (SQLite would follow them)."""
        with self.in_use():
            self.root.parent.mkdir(parents=True, exist_ok=True)  # ancestors: the user's, as the umask says
            for directory in (self.root, self.logs, self.run):
                os.close(_private_directory(directory))
            for path in self.files:
                _not_a_link(path)

    @contextlib.contextmanager
    def in_use(self) -> Iterator[None]:
        """Where the state directory is made or its files opened: an OSError (a read-only file system, a file
        in the way, a socket path too long) becomes StateDirUnusable, one line naming the path and the reason."""
        try:
            yield
        except SentinelError:
            raise
        except OSError as err:
            where = f"{err.filename}: " if err.filename and Path(err.filename) != self.root else ""
            reason = err.strerror or str(err)
            raise StateDirUnusable(f"cannot use the state directory {self.root}: {where}{reason}") from None


def open_private(path: Path, flags: int, mode: int = 0o600) -> int:
    """Open the regular file `path` (flags as os.open) inside a private directory, never through a
    symbolic link: the directory is opened `O_DIRECTORY|O_NOFOLLOW` and checked as `ensure` does, the
    file relative to it with `O_NOFOLLOW`. Raises UnsafeStateDir, or OSError when it cannot be opened."""
    directory = _private_directory(path.parent, create=False)
    try:
        try:
            fd = os.open(path.name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=directory)
        except OSError as err:
            _not_a_link(path)
            raise OSError(err.errno, err.strerror, str(path)) from None
    finally:
        os.close(directory)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafeStateDir(f"{path} is not a regular file; refusing to use it")
    return fd


def _private_directory(directory: Path, *, create: bool = True) -> int:
    """A descriptor of `directory`, created 0700 if missing (and `create`); UnsafeStateDir unless it is
    a directory of this user's that no one else may enter."""
    made = False
    if create:
        try:
            os.mkdir(directory, 0o700)
            made = True
        except FileExistsError:
            pass
    try:
        fd = os.open(directory, _DIRECTORY)
    except OSError as err:
        _not_a_link(directory)
        raise UnsafeStateDir(f"state directory {directory}: {err.strerror}") from None
    info = os.fstat(fd)
    owner = os.geteuid()
    problem = None
    if info.st_uid != owner:
        problem = f"belongs to uid {info.st_uid}, not to uid {owner} that runs the reconciler"
    elif made:
        os.fchmod(fd, 0o700)  # ours, just made: owner-only whatever the umask
    elif stat.S_IMODE(info.st_mode) & 0o077:
        problem = f"is not private (mode {stat.S_IMODE(info.st_mode):04o}; it must be 0700, for its owner alone)"
    if problem:
        os.close(fd)
        raise UnsafeStateDir(f"state directory {directory} {problem}; refusing to use it (choose another "
                             "--state-dir, or fix it yourself if it is yours alone)")
    return fd


def _not_a_link(path: Path) -> None:
    if os.path.islink(path):
        raise UnsafeStateDir(f"{path} is a symbolic link; refusing to follow it in a state directory")

