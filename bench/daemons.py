"""The two supervisors under test (SentinelZero and supervisord), driven the way a user drives them.

Used by `reconciler.py`; not run on its own. Linux only (it reads /proc and relies on GNU
`date +%N`).

Every service of the workload is `sh -c 'echo $$ $(date +%s.%N) > starts/NAME; exec sleep 1000'`:
it writes its own pid (which `sleep` keeps, through `exec`) and its start time with nanosecond
resolution before it becomes the `sleep 1000` of the workload, so a benchmark reads *when* a
service started from the service itself instead of from how often it polls.

Every daemon is launched with `SZBENCH_TAG=<tag>` in its environment; both supervisors pass
their environment on to what they start, so every process of a run, including grandchildren
that escaped their supervisor, can be found again (to count leaks and to kill everything at
the end) by that variable alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar, TypeVar

import psutil

BIN = Path(sys.executable).parent
TAG_VAR = "SZBENCH_TAG"
CLK_TCK = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


class BenchError(RuntimeError):
    """A run that could not be measured (a daemon that did not start, a service that never came up)."""


# --- the workload ---------------------------------------------------------------------------------


def sleeper(start_file: Path, seconds: int = 1000) -> str:
    """The `sh -c` script of a workload service: write `PID EPOCH` to start_file, then become `sleep`."""
    return f"echo $$ $(date +%s.%N) > {start_file}; exec sleep {seconds}"


FORKER = "sleep 1000 & sleep 1000"  # sh stays the parent of two sleeps: one grandchild in the background


@dataclass(frozen=True, slots=True)
class Started:
    """What a service wrote when it started: its pid and its start time (seconds since the epoch)."""

    pid: int
    at: float


def read_start(path: Path) -> Started | None:
    """The start record in `path`; None while it is missing or half written."""
    try:
        parts = path.read_text().split()
    except FileNotFoundError:
        return None
    if len(parts) != 2:
        return None
    try:
        return Started(int(parts[0]), float(parts[1]))
    except ValueError:
        return None


def wait_for(poll: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.005) -> T:
    """Call `poll` every `interval` until it returns something; BenchError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = poll()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def wait_all_started(start_dir: Path, names: Iterable[str], *, timeout: float = 60.0) -> dict[str, Started]:
    """Wait until every service in `names` has written its start record; the records by name."""
    pending = set(names)
    found: dict[str, Started] = {}
    total = len(pending)

    def poll() -> dict[str, Started] | None:
        for name in sorted(pending):
            record = read_start(start_dir / name)
            if record is not None:
                found[name] = record
                pending.discard(name)
        return None if pending else found

    return wait_for(poll, timeout=timeout, what=f"{total} services to start ({start_dir})", interval=0.01)


def wait_started(start_file: Path, *, timeout: float = 30.0) -> Started:
    """Wait until the service of `start_file` has written its start record."""
    return wait_for(partial(read_start, start_file), timeout=timeout, what=f"{start_file}", interval=0.002)


def wait_restarted(start_file: Path, old_pid: int, *, timeout: float = 30.0) -> Started:
    """Wait until `start_file` holds a run other than `old_pid`'s (a replacement or a new command)."""

    def poll() -> Started | None:
        record = read_start(start_file)
        return record if record is not None and record.pid != old_pid else None

    return wait_for(poll, timeout=timeout, what=f"a new run in {start_file}", interval=0.002)


def calibrate(starts: Path, count: int) -> list[float]:
    """The workload's own start-up, in ms: from just before a Python `Popen` of a service's `sh -c` (what a
    Python supervisor does) to the start time it writes. Part of every own-clock figure, for any supervisor."""
    samples = []
    for i in range(count):
        path = starts / f"calibrate{i}"
        began = time.time()
        proc = subprocess.Popen(["sh", "-c", sleeper(path, seconds=0)], stdin=subprocess.DEVNULL,
                                start_new_session=True)
        record = wait_started(path)
        proc.wait()
        samples.append((record.at - began) * 1000)
    return samples


# --- processes ------------------------------------------------------------------------------------


def boot_epoch() -> float:
    """When the machine booted, in epoch seconds, to the microsecond (psutil.boot_time() is /proc/stat's
    `btime`, whole seconds, which puts psutil's create_time() up to a second early)."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def proc_start(pid: int, boot: float) -> float | None:
    """The process's start time from /proc/PID/stat (`starttime`, in clock ticks since boot: 10 ms steps)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return boot + int(fields[19]) / CLK_TCK


def thread_cpu_ns(pid: int) -> dict[int, int]:
    """CPU time of each of the process's threads in ns, from /proc/PID/task/*/schedstat (psutil's
    cpu_times() counts clock ticks: 10 ms, which is 0.1 % of a core over a 10 s window)."""
    times = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            times[int(task.name)] = int((task / "schedstat").read_text().split()[0])
    return times


def tagged(prefix: str) -> list[psutil.Process]:
    """Live (not zombie) processes whose SZBENCH_TAG starts with `prefix`."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            value = proc.environ().get(TAG_VAR)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if value is not None and value.startswith(prefix):
            found.append(proc)
    return found


def kill_all(procs: Iterable[psutil.Process]) -> int:
    """SIGKILL each process that still runs; how many were signalled."""
    killed = 0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.send_signal(signal.SIGKILL)
            killed += 1
    return killed


def run_cli(argv: list[str], *, ok: tuple[int, ...] = (0,)) -> float:
    """Run a command as a user types it; its wall time in seconds. BenchError on an unexpected exit."""
    start = time.perf_counter()
    done = subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - start
    if done.returncode not in ok:
        output = done.stdout.decode(errors="replace").strip()[-500:]
        raise BenchError(f"{shlex.join(argv)} exited {done.returncode}: {output}")
    return elapsed


# --- the supervisors ------------------------------------------------------------------------------


class Daemon:
    """One supervisor instance in its own fresh directory, with its config, state and socket there."""

    kind: ClassVar[str]
    label: ClassVar[str]

    def __init__(self, root: Path, tag: str) -> None:
        self.root = root
        self.tag = tag
        self.starts = root / "starts"
        self.starts.mkdir(parents=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.launched_at = 0.0

    # what each supervisor provides
    def write_config(self, services: Mapping[str, str]) -> None:
        raise NotImplementedError

    def daemon_argv(self) -> list[str]:
        raise NotImplementedError

    def status_argv(self) -> list[str]:
        raise NotImplementedError

    def apply(self, services: Mapping[str, str], *, restarts: bool = False) -> float:
        """Make `services` the running set as a user would; the time of any command that needs (seconds).
        `restarts`: the edit changes running processes (not only adds)."""
        raise NotImplementedError

    def stop_everything(self) -> dict[str, float]:
        """Stop every process and the daemon as a user would; seconds taken by the `commands`, until the
        daemon is `gone`, and by each command."""
        raise NotImplementedError

    def running(self) -> int:
        """How many processes the supervisor itself reports as running (a sanity check, not timed)."""
        raise NotImplementedError

    # shared
    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError(f"{self.label} is not running")
        return self.proc.pid

    def launch(self) -> float:
        """Start the daemon in the foreground (as a child of ours); the epoch time right before."""
        env = {**os.environ, TAG_VAR: self.tag}
        out = os.open(self.root / "daemon.out", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.launched_at = time.time()
            self.proc = subprocess.Popen(self.daemon_argv(), cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=out, start_new_session=True)
        finally:
            os.close(out)
        return self.launched_at

    def wait_exit(self, timeout: float = 120.0) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise BenchError(f"{self.label} did not exit within {timeout:.0f} s") from None

    def tree(self) -> list[psutil.Process]:
        """The daemon's live descendants."""
        try:
            procs = psutil.Process(self.pid).children(recursive=True)
        except (psutil.NoSuchProcess, BenchError):
            return []
        return [p for p in procs if _alive(p)]

    def kill(self) -> None:
        """Kill the daemon and everything it started (cleanup, also after an error or Ctrl-C)."""
        if self.proc is None:
            return
        procs = self.tree()
        if self.proc.poll() is None:
            self.proc.kill()
        kill_all(procs)
        kill_all(tagged(self.tag))
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def output_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "daemon.out").read_text(errors="replace")[-2000:]
        return ""


class Sentinel(Daemon):
    kind = "sentinel"
    label = "SentinelZero"

    def __init__(self, root: Path, tag: str) -> None:
        super().__init__(root, tag)
        self.state = root / "state"
        self.config = root / "sentinel.yaml"
        self.cli = str(BIN / "sentinel")
        self.listen: str | None = None  # HOST:PORT: also serve the API on TCP (`api.listen`), token in root/token

    @property
    def token_file(self) -> Path:
        return self.root / "token"

    def write_config(self, services: Mapping[str, str]) -> None:
        lines = ["version: 1", "defaults:", "  restart: {backoff: {initial: 0}}"]
        if self.listen is not None:
            lines.append(f"api: {{listen: {json.dumps(self.listen)}, token_file: {json.dumps(str(self.token_file))}}}")
        lines.append("processes:")
        for name, script in services.items():
            # `$$` is a literal `$` in sentinel.yaml (interpolation), so the script's own `$$` doubles
            lines += [f"  {name}:", f"    command: {json.dumps(['sh', '-c', script.replace('$', '$$')])}"]
        self.config.write_text("\n".join(lines) + "\n")

    def daemon_argv(self) -> list[str]:
        return [self.cli, "--state-dir", str(self.state), "up", "-f", str(self.config)]

    def status_argv(self) -> list[str]:
        return [self.cli, "--state-dir", str(self.state), "status"]

    def remote_status_argv(self) -> list[str]:
        """`status` over the TCP API (`--api`, with the token), when the daemon serves one (`listen`)."""
        if self.listen is None:
            raise BenchError("the reconciler serves no TCP API: set `listen` before `write_config`")
        return [self.cli, "--api", f"http://{self.listen}", "--token-file", str(self.token_file), "status"]

    def apply(self, services: Mapping[str, str], *, restarts: bool = False) -> float:
        self.write_config(services)  # the reconciler watches the file: an addition needs nothing more
        if restarts:
            # A change that restarts waits until the watched file has settled for 1 s (a file written in pieces
            # must not stop what it still lists, docs/contract.md); SIGHUP says the file is whole, as
            # `supervisorctl update` does for supervisord (a signal, so no CLI start-up is counted).
            os.kill(self.pid, signal.SIGHUP)
        return 0.0

    def running(self) -> int:
        out = _output([*self.status_argv(), "--json"])
        return sum(1 for row in json.loads(out) if row["state"] == "running")

    def stop_everything(self) -> dict[str, float]:
        start = time.perf_counter()
        down = run_cli([self.cli, "--state-dir", str(self.state), "down"])
        self.wait_exit()
        return {"commands": down, "gone": time.perf_counter() - start}


class Supervisord(Daemon):
    kind = "supervisord"
    label = "supervisord"

    def __init__(self, root: Path, tag: str) -> None:
        super().__init__(root, tag)
        self.config = root / "supervisord.conf"
        self.socket = root / "supervisor.sock"
        (root / "logs").mkdir()
        self.ctl = str(BIN / "supervisorctl")

    def write_config(self, services: Mapping[str, str]) -> None:
        root = self.root
        sections = [
            f"[unix_http_server]\nfile={self.socket}\n",
            f"[supervisord]\nnodaemon=true\nlogfile={root / 'supervisord.log'}\npidfile={root / 'supervisord.pid'}\n"
            f"childlogdir={root / 'logs'}\n",
            "[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
            f"[supervisorctl]\nserverurl=unix://{self.socket}\n",
        ]
        for name, script in services.items():
            command = "sh -c " + shlex.quote(script).replace("%", "%%")  # `%` starts an expansion in the file
            sections.append(f"[program:{name}]\ncommand={command}\nautorestart=true\nstartsecs=0\n")
        self.config.write_text("\n".join(sections))

    def daemon_argv(self) -> list[str]:
        return [str(BIN / "supervisord"), "-c", str(self.config)]

    def status_argv(self) -> list[str]:
        return [self.ctl, "-c", str(self.config), "status"]

    def apply(self, services: Mapping[str, str], *, restarts: bool = False) -> float:
        self.write_config(services)
        return run_cli([self.ctl, "-c", str(self.config), "update"])

    def running(self) -> int:
        out = _output(self.status_argv(), ok=(0, 3))  # 3: some process is not running
        return sum(1 for line in out.splitlines() if line.split()[1:2] == ["RUNNING"])

    def stop_everything(self) -> dict[str, float]:
        start = time.perf_counter()
        stop_all = run_cli([self.ctl, "-c", str(self.config), "stop", "all"])
        shutdown = run_cli([self.ctl, "-c", str(self.config), "shutdown"])
        self.wait_exit()
        return {"commands": stop_all + shutdown, "stop_all": stop_all, "shutdown": shutdown,
                "gone": time.perf_counter() - start}


DAEMONS: dict[str, type[Daemon]] = {"sentinel": Sentinel, "supervisord": Supervisord}


@contextlib.contextmanager
def daemon(kind: str, root: Path, tag: str) -> Iterator[Daemon]:
    """A daemon of `kind` in the fresh directory `root`, not configured or launched yet; killed with
    everything it started on the way out, whatever happened."""
    instance = DAEMONS[kind](root, tag)
    try:
        yield instance
    except BenchError as err:
        tail = instance.output_tail()
        raise BenchError(f"{instance.label}: {err}" + (f"\n--- its output ---\n{tail}" if tail else "")) from None
    finally:
        instance.kill()


def _output(argv: list[str], *, ok: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode not in ok:
        raise BenchError(f"{shlex.join(argv)} exited {done.returncode}: {(done.stdout + done.stderr)[-500:]}")
    return done.stdout


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def guarded_run(run: Callable[[], None], *, session: str, workdir: Path,
                close: Callable[[], None] | None = None) -> str | None:
    """Run a benchmark with SIGTERM and SIGHUP acting as Ctrl-C, and always clean up: `close`, kill every
    process tagged with `session`, remove `workdir`. Returns the BenchError message, or None; an
    interruption is raised again (as KeyboardInterrupt) once everything is cleaned up."""
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _interrupt)
    try:
        run()
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return str(err)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if close is not None:
            close()
        kill_all(tagged(session))
        shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return None


class Progress:
    """What every bench script's run shares: a session tag for the daemons it launches, a launch counter,
    and progress lines on stderr with the 1-minute load average (other work on the machine skews every
    figure), summed up by `machine_line`."""

    def __init__(self) -> None:
        self.session = f"szbench-{os.getpid()}-{int(time.time())}"
        self.load: list[float] = [os.getloadavg()[0]]  # at each progress line
        self._launches = 0
        self.began = time.monotonic()

    def next_launch(self) -> int:
        """The number of the next daemon launch (for its directory and tag)."""
        self._launches += 1
        return self._launches

    def say(self, message: str) -> None:
        load = os.getloadavg()[0]
        self.load.append(load)
        print(f"[{time.monotonic() - self.began:6.1f}s load {load:4.2f}] {message}", file=sys.stderr, flush=True)

    def machine_line(self) -> str:
        import platform

        return (f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
                f"Linux {platform.release()}, {time.monotonic() - self.began:.0f} s, 1-minute load average "
                f"{min(self.load):.2f}–{max(self.load):.2f} (the bench itself adds about 1)")
