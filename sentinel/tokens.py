"""The bearer tokens of the TCP API (docs/security.md#the-tcp-api): where a token file is, how it is created
(random, owner-only, never through a symbolic link), checked, read, rotated (atomically), and followed by a
running reconciler (`TokenFile`: read again when the file changes, so a rotation needs no restart).

A token file holds one line, the token. It is refused (TokenFileError, one line naming the file, never the
token) when it is a symbolic link, not a regular file, readable or writable by group or others, empty, or
over `MAX_SIZE` bytes. Every layer may use it: the config loader checks the files at `validate`, the
reconciler at `up`, the API on each request, the CLI prints and rotates them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from sentinel.errors import TokenFileError

DEFAULT = "~/.config/sentinel/token"  # api.token_file when not set
MAX_SIZE = 4096  # bytes: a token file larger than this is not one
TOKEN_BYTES = 32  # of randomness: secrets.token_urlsafe(32) is 43 characters


def token_path(configured: str | None, config_file: str | None = None) -> Path:
    """The token file `api.token_file` names, or the default (`config_path`)."""
    return config_path(configured or DEFAULT, config_file)


def config_path(configured: str, config_file: str | None) -> Path:
    """A path an `api` key gives (token files, TLS files): `~` expanded, relative to the config file's folder."""
    expanded = os.path.expanduser(configured)
    if config_file is None:
        return Path(expanded)
    return Path(os.path.dirname(os.path.abspath(config_file)), expanded)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def refusal(info: os.stat_result) -> str | None:
    """Why a file with this `lstat`/`fstat` is not taken as a token file, or None."""
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link (give the file itself)"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if info.st_mode & 0o077:
        return f"is open to group or others (mode {stat.S_IMODE(info.st_mode):04o}): chmod 600 it"
    if info.st_size == 0:
        return "is empty"
    if info.st_size > MAX_SIZE:
        return f"is over {MAX_SIZE} bytes: not a token file"
    return None


def check(path: Path) -> None:
    """TokenFileError if the file at `path` would be refused; FileNotFoundError if there is none (it is created
    when the reconciler starts)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise
    except OSError as err:
        raise TokenFileError(f"token file {path}: {err.strerror}") from None
    reason = refusal(info)
    if reason is not None:
        raise TokenFileError(f"token file {path} {reason}")


def read_token(path: Path) -> str:
    """The token in the file at `path`; TokenFileError if it is refused, FileNotFoundError if there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as err:
        check(path)  # a symbolic link says so rather than "too many levels of symbolic links"
        raise TokenFileError(f"token file {path}: {err.strerror}") from None
    try:
        reason = refusal(os.fstat(fd))
        if reason is not None:
            raise TokenFileError(f"token file {path} {reason}")
        token = os.read(fd, MAX_SIZE + 1).decode(errors="replace").strip()
    finally:
        os.close(fd)
    if not token:
        raise TokenFileError(f"token file {path} is empty")
    if any(character.isspace() for character in token):
        raise TokenFileError(f"token file {path} holds more than one word: write the token alone")
    return token


def ensure_token(path: Path) -> tuple[str, bool]:
    """The token in `path`, and whether the file was created just now (with a random token)."""
    try:
        return read_token(path), False
    except FileNotFoundError:
        pass
    token = new_token()
    try:
        _write_new(path, token)
    except FileExistsError:  # made meanwhile by another: take its token
        return read_token(path), False
    return token, True


def rotate(path: Path) -> str:
    """A new token written to `path` atomically (a new owner-only file renamed over it); returns it."""
    with contextlib.suppress(FileNotFoundError):
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            raise TokenFileError(f"token file {path} {refusal(info)}")
    token = new_token()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    _write_new(temporary, token)
    try:
        os.replace(temporary, path)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise TokenFileError(f"token file {path}: cannot replace it: {err.strerror}") from None
    _sync_directory(path.parent)
    return token


def _write_new(path: Path, token: str) -> None:
    """Create `path` (never through a symbolic link, never over a file) owner-only, holding `token`; its
    missing parent directories are made owner-only too."""
    _make_parents(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise
    except OSError as err:
        raise TokenFileError(f"token file {path}: cannot create it: {err.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, f"{token}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_parents(directory: Path) -> None:
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as err:
            raise TokenFileError(f"cannot create {folder} for the token file: {err.strerror}") from None


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(slots=True)
class TokenFile:
    """A token file a running reconciler follows: `current()` reads it again when it has changed (another
    inode, size or modification time: `sentinel api token --rotate`), so a new token holds from the next
    request and the old one stops working. A file that has become refused or gone holds no token (every
    request is unauthorized) and `problem` says why."""

    path: Path
    _seen: tuple[int, int, int, int, int] | None = None
    _token: str | None = None
    problem: str | None = None

    def current(self) -> str | None:
        try:
            info = os.stat(self.path, follow_symlinks=False)
        except OSError as err:
            self._seen, self._token, self.problem = None, None, f"token file {self.path}: {err.strerror}"
            return None
        seen = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_mode)
        if seen != self._seen:
            self._seen = seen
            try:
                self._token, self.problem = read_token(self.path), None
            except (TokenFileError, OSError) as err:
                self._token, self.problem = None, str(err)
        return self._token
