"""Every command the README and the examples' READMEs show runs, as shown, against the real CLI.

The fenced `sh` blocks (each line a command) and `console` blocks (each `$ ` line a command) of
each document run in order, in a fresh shell, from a copy of what the document is read beside:
the README from the quick-start example's folder (its `sentinel.yaml` is that file), the examples'
READMEs from a copy of the repository's `examples/` and `schema/`. Each runs on its own state
directory (the default one, under a home of its own) and on free ports; a `curl` command fails on an answer of
400 or more (`--fail-with-body`). A command must exit as its comment says (`# … exit 1`), else 0 (`diff`:
0 or 1), and never print a traceback. The few commands that cannot run here are listed in SKIPPED,
each with the reason. Whatever a document leaves running is stopped with `sentinel down`, and the
integration teardown fails the test if anything is left.

They start some forty reconcilers, a minute of the two cores: they are the `walkthrough` suite, a CI
step of its own (`pytest -m walkthrough`), out of the default suite's five minutes.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.walkthrough

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted(ROOT.glob("examples/*/README.md"))]
SKIPPED = {
    "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/sentinel up -f examples/quickstart/sentinel.yaml":
        "installs the package from the network, then runs the reconciler in the foreground until Ctrl-C",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/pytest":
        "installs the package from the network, then runs this very suite",
    "sentinel up -f sentinel.yaml":
        "runs in the foreground until Ctrl-C; the `--detach` line after it runs the same reconciler",
    "sentinel top --group app --interval 2":
        "full-screen until q, and needs a terminal: tests/integration/daemon/test_top*.py drive it (Textual, tmux)",
    "sentinel logs worker -f":
        "follows the log until Ctrl-C; the quick-start example's README runs `sentinel logs worker`",
    # Issue #10, "apply stops waiting while a process is still pending on a dependency that is coming up":
    # it exits 1 at once with `ingest.0: pending (waiting for api)`. Run it again once that fix is merged.
    "sentinel apply -f examples/gitops/sentinel.yaml --timeout 120":
        "returns before the processes pending on `api` are up (issue #10, apply's convergence rule)",
}
PORT_VARIABLES = ("PORT", "WEB_PORT", "API_PORT", "DB_PORT", "APP_PORT", "PG_PORT", "REDIS_PORT")
COMMAND_TIMEOUT = 120.0  # seconds: `apply` waits up to 30 s by default, `down` for every stop


def commands(document: Path) -> list[str]:
    """The commands of a document's `sh` and `console` blocks, in order, comments kept."""
    found = []
    for language, body in re.findall(r"^```(sh|console)\n(.*?)^```", document.read_text(), re.DOTALL | re.MULTILINE):
        for line in body.splitlines():
            if language == "console":
                if line.startswith("$ "):
                    found.append(line[2:].strip())
            elif line.strip() and not line.lstrip().startswith("#"):
                found.append(line.strip())
    return found


def without_comment(command: str) -> str:
    return re.sub(r"\s+#.*$", "", command)


def expected_exits(command: str) -> set[int]:
    stated = re.search(r"#.*\bexit (\d+)", command)
    if stated:
        return {int(stated.group(1))}
    return {0, 1} if without_comment(command).startswith("sentinel diff") else {0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _workspace(document: Path, tmp_path: Path) -> Path:
    """A copy of what the document's commands run beside; returns the directory they run in."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "schema", tmp_path / "schema")
    return tmp_path / "examples" / "quickstart" if document.name == "README.md" and document.parent == ROOT \
        else tmp_path


@pytest.fixture
def home() -> Iterator[Path]:
    """A home of the test's own, under a short path: `~/.local/state/sentinel/sentinel.sock` must fit in a unix
    socket's ~104 bytes, which pytest's temporary directories (deeper under xdist workers) can exceed."""
    path = Path(tempfile.mkdtemp(prefix="sz-home-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _environment(home: Path) -> dict[str, str]:
    """The commands' environment: the default state directory (so `~/.local/state/sentinel/sentinel.sock` is
    the API's socket) under `home`, free ports."""
    unset = ("SENTINEL_CONFIG", "SENTINEL_ENV", "SENTINEL_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)
    env.update({name: str(_free_port()) for name in PORT_VARIABLES})
    return env


def _shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if command.startswith("curl "):  # an answer of 400 or more fails the command (and so the test)
        command = "curl --fail-with-body " + command.removeprefix("curl ")
    return subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT, check=False)


def test_every_document_shows_commands() -> None:
    assert all(commands(document) for document in DOCUMENTS)


def test_every_skipped_command_is_still_shown() -> None:
    shown = {without_comment(command) for document in DOCUMENTS for command in commands(document)}
    assert set(SKIPPED) - shown == set(), "a skipped command is no longer in the docs: drop it from SKIPPED"


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(d.relative_to(ROOT)) for d in DOCUMENTS])
def test_document_commands_run(document: Path, tmp_path: Path, home: Path) -> None:
    cwd, env = _workspace(document, tmp_path), _environment(home)
    failures = []
    try:
        for command in commands(document):
            if without_comment(command) in SKIPPED:
                continue
            result = _shell(command, cwd, env)
            if result.returncode not in expected_exits(command) or "Traceback" in result.stderr:
                failures.append(f"$ {command}\nexit {result.returncode}\n{result.stdout}{result.stderr}")
    finally:
        _shell("sentinel down", cwd, env)  # whatever the document left running (exit 1 when nothing was)
    assert failures == [], "\n\n".join(failures)
