"""The reconciler process (`sentinel up`), composed: lock, state, adoption, API socket, signals, shutdown.

One reconciler per state directory, enforced by a lock on `sentinel.pid`. Signal handlers
only record (docs/conventions.md#signal-handlers-only-record): SIGTERM/SIGINT ask for a graceful stop of everything, a
second SIGINT forces it, SIGHUP asks for a reload. Called by the CLI's `up`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import functools
import os
import signal
import socket
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentinel import collector, early_signals
from sentinel.clock import Clock, SystemClock, system_zone
from sentinel.config.hosts import Host, host_json
from sentinel.config.loader import Loaded, load
from sentinel.config.models import ReconcilerLog
from sentinel.config.secrets import masked_config
from sentinel.controller.jobs import MAX_SLEEP
from sentinel.controller.loop import Controller
from sentinel.controller.persist import BUSY_TIMEOUT
from sentinel.errors import ConfigError, DaemonRunning, ReconcilerBug
from sentinel.log import configure, get_logger
from sentinel.logsettings import LogFormat
from sentinel.paths import StateDir, open_private
from sentinel.reconcile.descriptors import DescriptorBudget
from sentinel.reconcile.desired import DesiredProcess, digest, expand
from sentinel.reconcile.observed import ExitStatus, ProcessIdentity
from sentinel.runtime.manager import Runtime
from sentinel.state.store import Store
from sentinel.states import IllegalMove

if TYPE_CHECKING:
    from sentinel.api.serving import ApiServer
    from sentinel.config.models import Api, Source
    from sentinel.controller.source import GitSource
    from sentinel.reconcile.source import Commit, SourceState

log = get_logger(__name__)
DRAIN_TIMEOUT = 5.0  # seconds, at shutdown, for writes kept while state.db was locked (controller.persist)
RELEASE_AFTER = 1.0  # seconds without a reload before freed memory is handed back (runtime.memory)
STATE_CHECK = 1.0  # seconds between two looks at state.db's file (deleted, emptied, overwritten: Store.damage)
LOAD_TIMEOUT = 30.0  # seconds a config load may take before it is given up (docs/limitations.md)
RESTART_FOR_API = ("the API listens as the config said when the reconciler started: restart it (down, then up) "
                   "for new api settings")


class _NotYet:
    """The listeners are not made yet (`Daemon._api_at_start` before `serve`)."""


_NOT_YET = _NotYet()


class Handover:
    """The config `up` loaded, handed to the reconciler that takes it (`take`): from then on the reconciler's
    record of the config in force is its only reference, so a reload lets the first config go (before, `up`'s
    and `run`'s frames held it for the reconciler's whole life: one config's worth of memory, measured 0.1 MB
    for 50 processes)."""

    def __init__(self, loaded: Loaded) -> None:
        self._loaded: Loaded | None = loaded

    @property
    def loaded(self) -> Loaded:
        """The config, before it is taken."""
        if self._loaded is None:
            raise RuntimeError("the config was taken already")
        return self._loaded

    def take(self) -> Loaded:
        loaded, self._loaded = self.loaded, None
        return loaded


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    config: str  # absolute path of the config file
    environment: str | None
    state_dir: StateDir
    wall_clock_check: float = MAX_SLEEP  # seconds: how soon a step of the wall clock is noticed at the latest
    strict: bool = False  # a bug (a state move outside docs/states.md's table) is an error, not a log line
    log_format: LogFormat | None = None  # `up --log-format`; else the file's `log.format`
    log_file: Path | None = None  # where the log goes (rotated) instead of standard error: `up --detach`
    host: Host | None = None  # who this reconciler is for `hosts:` selectors (`up --hostname`, `--label`)


@contextlib.contextmanager
def state_lock(state_dir: StateDir) -> Iterator[None]:
    """Hold the state directory for this process; DaemonRunning if another reconciler has it."""
    state_dir.ensure()
    with state_dir.in_use():
        fd = open_private(state_dir.pidfile, os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise DaemonRunning(f"a reconciler is already running on {state_dir.root} (pid {other})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def bind_socket(path: Path) -> socket.socket:
    """The API socket, owner-only. A stale socket is replaced: we hold the lock, so no live one is."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def config_digest(loaded: Loaded) -> str:
    return digest([loaded.config.model_dump(mode="json"), {k: dict(v) for k, v in loaded.env_files.items()},
                   {k: dict(v) for k, v in loaded.watched.items()}])


class Daemon:
    """The pieces of a running reconciler, wired together; `serve()` runs until asked to stop."""

    def __init__(self, options: DaemonOptions, loaded: Loaded, *, clock: Clock | None = None,
                 environ: Mapping[str, str] | None = None, child_nofile: int | None = None) -> None:
        self.options, self.clock = options, clock or SystemClock()
        self.environ = dict(os.environ if environ is None else environ)
        self.path, self.environment = options.config, options.environment
        self.store = Store.open(options.state_dir.db, busy_timeout=BUSY_TIMEOUT)
        self.runtime = Runtime(options.state_dir, on_exit=self._on_exit, utc=self.clock.now_utc,
                               child_nofile=child_nofile)
        self.controller = Controller(runtime=self.runtime, store=self.store, clock=self.clock, environ=self.environ,
                                     system_tz=system_zone(self.environ), wall_clock_check=options.wall_clock_check,
                                     strict=options.strict, descriptors=descriptor_budget(),
                                     on_bug=self._on_bug)
        self.scheduler = self.controller.scheduler
        self.stop_requested = asyncio.Event()
        self.keep = False
        self.force = False
        self._interrupts = 0
        self._reload_lock = asyncio.Lock()
        # One worker thread loads configs, so the loop goes on supervising meanwhile; one, not a pool,
        # so a single malloc arena (freed by runtime.memory) is all the loads ever add.
        self._loader = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="config-load")
        self.loading = 0  # config loads going on (GET /v1/config says so)
        self._sampler: asyncio.Task[None] | None = None
        self._scheduling: asyncio.Task[None] | None = None
        self._state_watch: asyncio.Task[None] | None = None
        self._source_task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._taken: tuple[str, tuple[str, ...]] = ("", ())  # the digest and files of the config in force
        self.files_moved = asyncio.Event()  # set when the files to watch change (the watcher follows them)
        self._release: asyncio.TimerHandle | None = None
        self.unserved_listen: str | None = None  # `api.listen` of the config in force, when it is not served
        self.served_listen: str | None = None  # the address the TCP API listens on
        self._api_at_start: Api | _NotYet | None = _NOT_YET  # the api settings the listeners were made for
        self._api_reported: Api | _NotYet | None = _NOT_YET
        self._token_files: tuple[Path, Path | None] | None = None  # the TCP API's token files
        self._tls: tuple[str, str] | None = None  # its certificate and key files
        self.bug: IllegalMove | None = None  # the first bug a strict reconciler met: it stops, then exits on it
        self.source: GitSource | None = None  # the git source, when the file has `source:` (docs/gitops.md)
        self._applying: Commit | None = None  # the source's commit being applied now
        if self.store.recovered:
            self.controller.event("state_recovered", self.store.recovered)
        if loaded.config.source is not None:
            loaded = self._start_source(loaded.config.source, loaded)
        self._take(loaded, "started")

    # --- the git source -------------------------------------------------------------------------

    def _start_source(self, source: Source, bootstrap: Loaded) -> Loaded:
        """Make the git source of the bootstrap file; the config to start with is its last good commit, read from
        its checkout when there is one (so a restart adopts what runs rather than stopping it), else the
        bootstrap file itself (no processes) until the first fetch."""
        from sentinel.controller.source import GitSource, SourceSettings
        from sentinel.reconcile.source import Commit, SourceState

        record = self.store.source_state()
        applied = Commit(record.applied, record.subject or "") if record.applied else None
        state = SourceState(applied=applied, suspended_since=record.suspended_at)
        self.source = GitSource(
            SourceSettings.of(source, self.path), self.options.state_dir.ensure_source(), controller=self.controller,
            clock=self.clock, load=lambda path: self.load(path, self.environment), apply=self._apply_commit,
            save=self._save_source, state=state,
            hostname=self.options.host.name if self.options.host is not None else None)
        if applied is None:
            return bootstrap
        try:
            last_good = load(self.source.current_file, env=self.environment, environ=self.environ,
                             host=self.options.host)
        except ConfigError as err:  # its checkout is gone or damaged: the next fetch applies the commit again
            self.controller.set_config_error(err.one_line())
            self.source.forget_applied()
            return bootstrap
        self.path, self._applying = self.source.current_file, applied
        return last_good

    async def _apply_commit(self, path: str, commit: Commit) -> Loaded:
        """Apply the source's commit, checked out at `path`, through the reload path of any config change."""
        self._applying = commit
        try:
            return await self.reload(f"commit {commit.describe()}", path=path, switch=True,
                                     environment=self.environment)
        finally:
            self._applying = None

    def _save_source(self, state: SourceState) -> None:
        from sentinel.state.values import SourceRecord

        applied = state.applied
        record = SourceRecord(applied.hash if applied else None, applied.subject if applied else None,
                              state.suspended_since)
        self.controller.write_safely(self.store.save_source_state, record)

    def _on_bug(self, bug: IllegalMove) -> None:
        """Strict mode met a state move outside the table: stop everything and exit on it (`run`), rather than
        go on serving with a controller whose loop has ended."""
        if self.bug is None:
            self.bug = bug
        self.stop_requested.set()

    def _on_exit(self, name: str, identity: ProcessIdentity, status: ExitStatus) -> None:
        self.controller.on_exit(name, identity, status)  # the controller is made after the runtime

    # --- config ---------------------------------------------------------------------------------

    def _take(self, loaded: Loaded, why: str) -> bool:
        """Make `loaded` (read from `self.path`) the config in force, unless it is the same, from the same files."""
        new = config_digest(loaded)
        commit, self._applying = self._applying, None
        if (new, tuple(loaded.files)) == self._taken:
            if commit is not None and commit != self.controller.revision:
                # A commit that changes nothing on this host (a revert, another host's file) is the one in force
                # all the same: said, and in the history.
                self.controller.revision = commit
                self.controller.event("config_applied", f"config {self.path} applied ({why}): no change here")
                self._save_revision(loaded, new)
            return False
        self._taken = (new, tuple(loaded.files))
        desired = expand(loaded.config, loaded.env_files, loaded.watched)
        changes = self._changes(desired)
        self.controller.revision = commit
        self.controller.set_config(loaded, self.path, desired)
        self.scheduler.changed()
        self.controller.event("config_applied", f"config {self.path} applied ({why})")
        self._report_api_change(loaded)
        self._save_revision(loaded, new, changes)
        return True

    def _changes(self, desired: Mapping[str, DesiredProcess]) -> list[str]:
        """What making `desired` the desired state changes, as `diff` prints it (`sentinel history`)."""
        from sentinel.reconcile.render import diff_lines

        return diff_lines(self.controller.plan_for(desired, self.clock.monotonic()))

    def _save_revision(self, loaded: Loaded, config_digest: str, changes: list[str] | None = None) -> None:
        commit = self.controller.revision
        self.controller.write_safely(
            self.store.save_revision, path=self.path, environment=self.environment, digest=config_digest,
            config=_json(masked_config(loaded.config, loaded.tainted)), files=list(loaded.files),
            at=self.clock.now_utc(), revision=commit.hash if commit else None,
            subject=commit.subject if commit else None, changes=changes or [],
        )

    async def _watch_state_file(self) -> None:
        """Look at state.db's file every STATE_CHECK seconds; rebuild it when it was damaged under us."""
        while True:
            await asyncio.sleep(STATE_CHECK)
            loaded = self.controller.loaded
            if self.controller.check_state_file() and loaded is not None:
                self._save_revision(loaded, self._taken[0])

    def _report_api_change(self, loaded: Loaded) -> None:
        """The listeners are made when the reconciler starts (`_listen_tcp`): a config taken later that changes
        `api` is said once (a warning and an event), and an address it asks for is reported as not served."""
        api = loaded.config.api
        if isinstance(self._api_at_start, _NotYet) or api == self._api_reported:
            return
        self._api_reported = api
        listen = api.listen if api else None
        self.unserved_listen = listen if listen != self.served_listen else None
        if api == self._api_at_start:
            return
        if self.unserved_listen is not None:
            self._api_not_served(self.unserved_listen, RESTART_FOR_API)
        else:
            log.warning("api_changed", reason=RESTART_FOR_API)
            self.controller.event("api_changed", f"api settings changed: {RESTART_FOR_API}")

    def _api_not_served(self, listen: str, reason: str) -> None:
        """Say that `api.listen` is not served, and why: a warning, an event, and `/healthz`."""
        self.unserved_listen = listen
        log.warning("api_not_served", listen=listen, reason=reason)
        self.controller.event("api_not_served", f"api.listen {listen} is not served: {reason}; the API answers "
                                                f"on {self.options.state_dir.socket}")

    async def reload(self, why: str, *, path: str | None = None, environment: str | None = None,
                     switch: bool = False, whole: bool = True) -> Loaded:
        """Load the file again (or another one, for `apply`) and make it desired; ConfigError keeps the old.

        `whole`: the user asked for it (`apply`, SIGHUP), so the file is taken as complete and what it
        removes or restarts is stopped at once; a reload the watcher started (`whole=False`) leaves that to
        the planner, which waits until the file has settled (docs/reliability.md#f21-a-half-written-config)."""
        async with self._reload_lock:
            target = path or self.path
            env = environment if switch else self.environment
            before = _stat(target)
            try:
                loaded = await self.load(target, env)
            except ConfigError as err:
                self.controller.counters.reloads += 1
                self.controller.set_config_error(err.one_line())
                raise
            self.controller.counters.reloads += 1
            if not switch and _stat(target) != before:
                return loaded  # written again while we read it: the next change event reloads
            self.path, self.environment = target, env
            if whole and self.controller.changed_at is not None:
                self.controller.changed_at = None
                self.controller.wake()  # what waited for the file to settle goes now
            watched = self.watched()
            self.controller.clear_config_error(target)  # also when the file went back to what already runs
            if self._take(loaded, why):
                self._release_memory_soon()  # the old config's pages, back to the OS
            if self.watched() != watched:
                self.files_moved.set()
            return loaded

    async def load(self, path: str, env: str | None) -> Loaded:
        """`load()` in the worker thread, so the loop keeps supervising; ConfigError past LOAD_TIMEOUT.

        A load that runs out of time goes on in its thread (a thread cannot be stopped), and the
        next one waits for it; its result is dropped.
        """
        work = functools.partial(load, path, env=env, environ=self.environ, host=self.options.host)
        self.loading += 1
        try:
            return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(self._loader, work), LOAD_TIMEOUT)
        except TimeoutError:
            message = f"took longer than {LOAD_TIMEOUT:g}s to load; the running config stays in force"
            raise ConfigError.single(path, message) from None
        finally:
            self.loading -= 1

    def _release_memory_soon(self) -> None:
        """Give freed memory back to the OS once things are quiet: `RELEASE_AFTER` seconds after the last
        call, so that neither the collection nor the trim delays the starts a reload or start-up causes."""
        from sentinel.runtime import memory  # ctypes and the C library: after the first pass (cold start)

        if self._release is not None:
            self._release.cancel()
        self._release = asyncio.get_running_loop().call_later(RELEASE_AFTER, memory.release)

    def watched(self) -> frozenset[str]:
        loaded = self.controller.loaded
        files = loaded.files if loaded else (self.path,)
        reread = loaded.watched_paths() if loaded else frozenset()  # `reload.watch`: a change rereads them too
        return frozenset(os.path.abspath(f) for f in files) | reread

    async def _on_file_change(self) -> None:
        self.controller.changed_at = self.clock.monotonic()  # also for a file that does not load (yet)
        with contextlib.suppress(ConfigError):
            await self.reload("file changed", whole=False)

    # --- signals --------------------------------------------------------------------------------

    def _on_signal(self, number: int) -> None:
        if number == signal.SIGHUP:
            if not self.stop_requested.is_set():
                task = asyncio.get_running_loop().create_task(self._on_hup())
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
            return
        self._interrupts += 1
        if self._interrupts > 1 and number == signal.SIGINT:
            self.force = True
        self.stop_requested.set()

    async def _on_hup(self) -> None:
        with contextlib.suppress(ConfigError):
            await self.reload("SIGHUP")

    def request_stop(self, *, keep: bool) -> None:
        self.keep = keep
        self.stop_requested.set()

    # --- the run --------------------------------------------------------------------------------

    async def serve(self) -> None:
        """Adopt, start what the file asks for, then answer on the socket and watch the file until stopped.

        The first pass runs before the web and file-watching modules are even imported, so the
        processes start as early as they can (cold start, docs/contract.md#performance-budgets).
        """
        loop = asyncio.get_running_loop()
        for number in early_signals.HELD:  # they take over from early_signals' recording handlers
            loop.add_signal_handler(number, self._on_signal, number)
        stop_watching = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        servers: list[ApiServer] = []
        listening: socket.socket | None = None
        tcp: socket.socket | None = None

        def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if not any(server.loop_error(context) for server in servers):
                loop.default_exception_handler(context)  # through the log, as one line

        loop.set_exception_handler(on_loop_error)
        try:
            if early_signals.stop_received():
                return  # a stop asked for before the loop ran: start nothing, adopt nothing, exit cleanly
            listening = self._listen()
            tcp = self._listen_tcp()
            await self._first_pass()
            from sentinel.controller.watch import watch_config

            servers += self._servers(listening, tcp)
            tasks += [
                loop.create_task(self.controller.run()),
                *(loop.create_task(server.serve()) for server in servers),
                self._follow_changes(watch_config, stop_watching),
            ]
            self._sampler = loop.create_task(self.controller.limits.run(lambda: self.controller.desired,
                                                                        self.runtime.running))
            tasks.append(self._sampler)
            self._scheduling = loop.create_task(self.scheduler.run())
            tasks.append(self._scheduling)
            self._state_watch = loop.create_task(self._watch_state_file())
            tasks.append(self._state_watch)
            self._release_memory_soon()  # what loading the config and starting everything left behind
            log.info("reconciler_ready", pid=os.getpid(), state_dir=str(self.options.state_dir.root),
                     config=self.path)
            await self.stop_requested.wait()
            stop_watching.set()
            await self._shut_down()
            if self.bug is not None:
                raise self.bug
        finally:
            if self._release is not None:
                self._release.cancel()
            for background in (self._sampler, self._scheduling, self._state_watch, self._source_task):
                if background is not None:
                    background.cancel()
            self._stop_listening(servers, listening, tcp)
            await asyncio.gather(*tasks, return_exceptions=True)
            _hand_back_signals(loop)
            loop.set_exception_handler(None)
            self._loader.shutdown(wait=False, cancel_futures=True)
            await self.controller.writer.drain(timeout=DRAIN_TIMEOUT)
            self.store.close()

    async def _first_pass(self) -> None:
        """Adopt what still runs, then start what the file asks for; then what `up` held is collected again
        (sentinel/collector.py)."""
        self.controller.restore(self.store.processes())
        await self.controller.take_strays()
        self.controller.jobs.reattach(self.runtime.running())
        self.scheduler.catch_up()
        await self.controller.run_pass()
        collector.resume()

    def _follow_changes(self, watch_config: Callable[..., Coroutine[None, None, None]],
                        stop_watching: asyncio.Event) -> asyncio.Task[None]:
        """What changes the config: the file watcher, or the git source (its checkout is not edited by hand)."""
        loop = asyncio.get_running_loop()
        if self.source is None:
            return loop.create_task(watch_config(self.watched, self._on_file_change, stop_watching, self.files_moved))
        self._source_task = loop.create_task(self.source.run())
        return self._source_task

    def _listen(self) -> socket.socket:
        """The API socket, bound before anything starts: a socket it cannot bind stops `up` with one line."""
        with self.options.state_dir.in_use():
            return bind_socket(self.options.state_dir.socket)

    def _listen_tcp(self) -> socket.socket | None:
        """The TCP API's socket (`api.listen`), its token files made or checked and its TLS files checked first:
        a token file or TLS file that is refused stops `up` with one line (TokenFileError, ApiTlsError); an
        address that cannot be bound is reported (`_api_not_served`) and the reconciler goes on without it."""
        loaded = self.controller.loaded
        api = loaded.config.api if loaded else None
        self._api_at_start = self._api_reported = api
        if api is None or api.listen is None:
            return None
        from sentinel import tokens
        from sentinel.api.listen import bind, check_tls
        from sentinel.api.serving import ACCEPT_BURST

        full = tokens.token_path(api.token_file, self.path)
        read = tokens.token_path(api.read_token_file, self.path) if api.read_token_file else None
        if api.tls is not None:
            cert, key = (str(tokens.config_path(file, self.path)) for file in (api.tls.cert, api.tls.key))
            check_tls(cert, key)
            self._tls = (cert, key)
        for path in (full, read):
            if path is not None and tokens.ensure_token(path)[1]:
                log.info("api_token_created", path=str(path))
        self._token_files = (full, read)
        try:
            sock = bind(api.listen, ACCEPT_BURST)
        except OSError as err:
            self._api_not_served(api.listen, f"cannot listen there: {err.strerror or err}")
            return None
        self.served_listen = api.listen
        log.info("api_listening", listen=api.listen, tls=api.tls is not None)
        return sock

    def _servers(self, listening: socket.socket, tcp: socket.socket | None) -> list[ApiServer]:
        """One app, served on the socket and, behind tokens, on TCP: two uvicorn servers sharing one gate
        (only the TCP one speaks TLS and serves the dashboard at /ui/; CHANGELOG, Decisions)."""
        from sentinel.api.app import create_app
        from sentinel.api.serving import ApiServer

        app = create_app(self)
        on_socket = ApiServer(app, listening)
        if tcp is None:
            return [on_socket]
        from sentinel.api.dashboard import with_dashboard  # with tcp: the TCP listener's only
        from sentinel.api.tcp import TcpAccess, Tokens
        from sentinel.tokens import TokenFile

        assert self._token_files is not None and not isinstance(self._api_at_start, _NotYet)
        full, read = self._token_files
        tokens = Tokens(TokenFile(full), TokenFile(read) if read else None)
        on_tcp = ApiServer(TcpAccess(with_dashboard(app), tokens), tcp, gate=on_socket.gate, tls=self._tls)
        return [on_socket, on_tcp]

    def _stop_listening(self, servers: list[ApiServer], listening: socket.socket | None,
                        tcp: socket.socket | None) -> None:
        for server in servers:
            server.close()  # and its socket
        if not servers:
            for sock in (listening, tcp):
                if sock is not None:
                    sock.close()
        if listening is not None:  # ours to remove; something in the way of binding is not
            self.options.state_dir.socket.unlink(missing_ok=True)

    async def _shut_down(self) -> None:
        if self.keep:
            self.controller.detach()
            return
        graceful = asyncio.get_running_loop().create_task(self.controller.stop_everything(force=self.force))
        while not graceful.done():
            await asyncio.wait({graceful}, timeout=0.1)
            if self.force and not graceful.done():
                graceful.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await graceful
                await self.controller.stop_everything(force=True)
                return


def run(options: DaemonOptions, initial: Handover | None = None, *, clock: Clock | None = None) -> None:
    """`sentinel up` in the foreground: returns when the reconciler has stopped. `initial` is the config
    the caller already loaded from `options.config`, if it did; `clock` is the system's unless given."""
    if initial is None:
        initial = Handover(load(options.config, env=options.environment, host=options.host))  # ConfigError first
    if early_signals.stop_received():
        return  # asked to stop before anything started: nothing to do
    with state_lock(options.state_dir):
        if options.host is not None:
            _keep_host(options.state_dir, options.host)
        _configure_log(options, initial.loaded.config.log or ReconcilerLog())
        started_with = _raise_fd_limit()

        async def main() -> None:
            await Daemon(options, initial.take(), clock=clock, child_nofile=started_with).serve()

        try:
            asyncio.run(main())
        except IllegalMove as bug:
            raise ReconcilerBug(f"sentinel: stopped on a bug: {bug}") from None


def _keep_host(state_dir: StateDir, host: Host) -> None:
    """Write who this reconciler is (`host.json`) for the next one on this state directory (`up` without
    --hostname or --label) and for `diff` with none running; under the lock, so no other reconciler races it."""
    with state_dir.in_use():
        fd = open_private(state_dir.host_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(host_json(host))


def _hand_back_signals(loop: asyncio.AbstractEventLoop) -> None:
    """The loop's handlers removed; a signal while the last writes are made is recorded (early_signals), not fatal."""
    for number in early_signals.HELD:
        loop.remove_signal_handler(number)
    early_signals.hold_again()


def descriptor_budget() -> DescriptorBudget | None:
    """The reconciler's descriptor limit as it stands and the descriptors it holds now, before any process
    runs (`reconcile.descriptors` decides what fits); None when there is no limit."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    return DescriptorBudget(limit=soft, base=_open_descriptors())


def _open_descriptors() -> int:
    """How many descriptors this process holds (the one listing them is closed again when it is counted)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        with contextlib.suppress(OSError):
            return len(os.listdir(folder)) - 1
    return 0


def _raise_fd_limit() -> int:
    """Each process costs the reconciler about four descriptors (its pipe, log, spool and pidfd), so
    the common soft limit of 1024 would stop it near 250 processes: raise it to the hard limit. What
    still does not fit waits, and is said (`reconcile.descriptors`, docs/reliability.md#f43-many-processes).
    Returns the soft limit it started with, which children get back (docs/limitations.md)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as err:
            log.warning("fd_limit_unchanged", soft=soft, hard=hard, error=str(err))
    return soft


def _configure_log(options: DaemonOptions, settings: ReconcilerLog) -> None:
    """The reconciler's own log as `log:` in the file says, `--log-format` first (docs/architecture.md)."""
    configure(options.log_format or settings.format, level=settings.level, file=options.log_file,
              max_size=settings.max_size, keep=settings.keep, take_stderr=True)


def _stat(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


def _json(value: object) -> str:
    import json

    return json.dumps(value, sort_keys=True)
