"""`sentinel import`: each real-world-looking source file of tests/fixtures/import becomes a sentinel.yaml that
`sentinel validate` accepts, saying what it could not carry over; hostile input gets one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from sentinel.cli.main import cli
from sentinel.config.loader import load

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"
SOURCES = sorted(path for path in FIXTURES.iterdir() if "dynamic" not in path.name)


class Ran(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def sentinel(*args: str, cwd: Path | None = None) -> Ran:
    """The real CLI, in this process (a subprocess per command costs seconds on a busy machine)."""
    here = os.getcwd()
    try:
        os.chdir(cwd or here)
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(here)
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_the_installed_command_imports() -> None:
    ran = subprocess.run([sys.executable, "-m", "sentinel", "import", str(FIXTURES / "Procfile")], capture_output=True,
                         text=True, timeout=60, check=False)
    assert ran.returncode == 0 and "web:" in ran.stdout and ran.stderr == ""


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_every_fixture_imports_to_a_file_validate_accepts(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "sentinel.yaml"
    imported = sentinel("import", str(source), "-o", str(out))
    assert imported.returncode == 0, imported.stderr
    assert imported.stderr.startswith(f"{out}: ") and "Traceback" not in imported.stderr
    assert out.read_text().startswith(f"# Imported from {source}")
    validated = sentinel("validate", "-f", str(out))
    assert validated.returncode == 0, validated.stderr + out.read_text()
    refused = sentinel("import", str(source), "-o", str(out))
    assert refused.returncode == 2 and refused.stderr == f"{out}: exists; add --force to replace it\n"


def test_what_each_format_carries_over(tmp_path: Path) -> None:
    """Spot checks of the mapping, read back through the loader as the reconciler reads it."""
    processes = {}
    for source in ("supervisord.conf", "process-compose.yaml", "ecosystem.config.json", "Procfile"):
        out = tmp_path / f"{source}.yaml"
        assert sentinel("import", str(FIXTURES / source), "-o", str(out)).returncode == 0
        processes[source] = load(str(out), environ={"HOME": "/home/app"}).config.processes
    supervisord = processes["supervisord.conf"]
    assert supervisord["celery_02"].command == "/srv/app/venv/bin/celery -A app worker -n worker02@%h --loglevel=INFO"
    assert supervisord["celery_02"].group == "celery" and supervisord["celery_02"].restart.exit_codes == [0, 2]
    assert supervisord["app"].env["HOME"] == "/home/app" and supervisord["app"].env["SECRET_KEY"] == "s3cr%t"
    assert supervisord["app"].stop.signal == "QUIT" and supervisord["app"].logs.max_size == 50 * 1024**2
    assert supervisord["queue"].replicas == 4 and supervisord["beat"].restart.policy == "never"
    compose = processes["process-compose.yaml"]
    assert compose["api"].depends_on == {"migrate": "completed", "postgres": "healthy"}
    assert compose["api"].health is not None and compose["api"].health.http == "http://127.0.0.1:8080/healthz"
    assert compose["nightly-report"].schedule is not None and compose["nightly-report"].schedule.cron == "0 3 * * *"
    assert compose["worker"].stop.mode == "mixed" and compose["frontend"].replicas == 0
    pm2 = processes["ecosystem.config.json"]
    assert pm2["api"].command == ["node", "--max-old-space-size=512", "./dist/server.js", "--port", "3000",
                                  "--trust-proxy"]
    assert pm2["api"].limits.memory == 300 * 1024**2 and pm2["api"].stop.timeout == 5.0
    assert pm2["worker"].restart.exit_codes == [0, 143]
    production = load(str(tmp_path / "ecosystem.config.json.yaml"), env="production").config.processes
    assert production["api"].env == {"NODE_ENV": "production", "PORT": "80"}
    procfile = processes["Procfile"]
    assert procfile["worker"].command == "bundle exec sidekiq -q default -q mailers -c ${SIDEKIQ_CONCURRENCY:-5}"
    assert procfile["release"].schedule is not None and procfile["release"].schedule.manual


def test_the_notes_say_what_did_not_carry_over() -> None:
    text = sentinel("import", str(FIXTURES / "supervisord.conf")).stdout
    assert "# NOTE: [eventlistener:crashmail]: event listeners are not carried over" in text
    assert "# NOTE: nice = 10: not carried over" in text


HOSTILE = {
    "binary.conf": (b"\x7fELF\x00\x01\x02" * 100, "is a binary file"),
    "latin1.conf": ("[program:x]\ncommand=caf\xe9\n".encode("latin-1"), "is not valid UTF-8"),
    "broken.ini": (b"[program:x\ncommand=sleep 1\n", "is not a supervisord INI file"),
    "dup.conf": (b"[program:x]\ncommand=a\n[program:x]\ncommand=b\n", "already exists"),
    "noheader.conf": (b"command=sleep 1\n", "no [section] header"),
    "process-compose.yaml": (b"processes:\n  a: [unclosed\n", "process-compose.yaml:"),
    "process-compose.bomb.yaml": (b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                  b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n", "no `processes:` mapping"),
    "ecosystem.json": (b'{"apps": [{"name": "x", "script": }]}', "is not valid JSON"),
    "ecosystem.deep.json": (b"[" * 100_000, "nested too deeply"),
    "ecosystem.dynamic.config.js": ((FIXTURES / "ecosystem.dynamic.config.js").read_bytes(), "pm2 ecosystem"),
    "Procfile": (b"just some words\n", "no process found to import as procfile"),
    "mystery.txt": (b"hello\n\tworld\n", "format not recognised"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_gets_one_line_and_exit_2(name: str, tmp_path: Path) -> None:
    content, expected = HOSTILE[name]
    (tmp_path / name).write_bytes(content)
    result = sentinel("import", name, cwd=tmp_path)
    assert result.returncode == 2, result
    assert len(result.stderr.splitlines()) == 1 and expected in result.stderr, result.stderr
    assert result.stdout == ""


def test_unreadable_sources_get_one_line(tmp_path: Path) -> None:
    huge = tmp_path / "Procfile"
    with huge.open("wb") as handle:
        handle.truncate(9 * 1024 * 1024)
    nowhere = sentinel("import", str(FIXTURES / "Procfile"), "-o", str(tmp_path / "no" / "such.yaml"))
    assert nowhere.returncode == 2 and nowhere.stderr.endswith("cannot be written: No such file or directory\n")
    existing = tmp_path / "sentinel.yaml"
    existing.write_text("old")
    replaced = sentinel("import", str(FIXTURES / "Procfile"), "-o", str(existing), "--force")
    assert replaced.returncode == 0 and existing.read_text().startswith("# Imported from")
    for path, expected in ((huge, "is too large"), (tmp_path, "is a directory"), (tmp_path / "none", "not found")):
        result = sentinel("import", str(path), "--from", "procfile")
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and expected in result.stderr, result


def test_sources_that_expand_beyond_reason_are_refused_in_one_line(tmp_path: Path) -> None:
    many = tmp_path / "Procfile"
    many.write_text("".join(f"p{number}: sleep 1\n" for number in range(6000)))
    copies = tmp_path / "supervisord.conf"
    copies.write_text("[program:w]\ncommand=serve --port 9%(process_num)05d\nnumprocs=100000\n"
                      "process_name=w%(process_num)d\n")
    colons = tmp_path / "notes"  # guessed by content: many colons on a line, then a line of no format
    colons.write_text("a" + ":a" * 5000 + "\n\tnot a procfile line\n")
    for path, expected in ((many, "more than 5000 processes"), (copies, "more than 5000 processes"),
                           (colons, "format not recognised")):
        result = sentinel("import", str(path))
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and expected in result.stderr, result
