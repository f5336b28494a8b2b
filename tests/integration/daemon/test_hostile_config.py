"""Hostile config values against a real reconciler (issue #11): interpolation cannot add arguments."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

INJECTION = 'a b" "--evil $(touch PWNED)'


def test_an_interpolated_value_stays_one_argument_and_runs_nothing(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  echo:
    command: printf '[%s]\\n' "${NAME}" ${NAME}
    restart: {policy: never}
""")
    r.extra_env = {"NAME": INJECTION}
    r.start()
    r.wait_state("echo", "exited")
    wait_for(lambda: r.cli("logs", "echo").output.count("[") >= 2)
    lines = [line.split(" ", 1)[-1] for line in r.cli("logs", "echo").output.splitlines()]
    assert lines[-2:] == [f"[{INJECTION}]"] * 2
    assert not (r.config.parent / "PWNED").exists()


SECRET = "pw-LEAK-1"


def test_a_planted_secret_reaches_no_output_channel_and_no_database_row(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("""
processes:
  web:
    command: sh -c 'sleep 1000' ${DB_PASSWORD}
    env_file: secret.env
    env: {DSN: "postgres://app:${DB_PASSWORD}@db/app", COPY: "${PLAIN}"}
    health: {http: "http://admin:${DB_PASSWORD}@127.0.0.1:1/", interval: 100ms, retries: 1, restart: false,
             start_period: 0s}
  worker:
    command: ${DB_PASSWORD}-no-such-program
    env_file: secret.env
    restart: {max_retries: 0}
""")
    (r.config.parent / "secret.env").write_text(f"DB_PASSWORD={SECRET}\nPLAIN=plain-LEAK-2\n")
    r.start()
    r.wait_state("worker", "failed")
    wait_for(lambda: r.row("web")["health"] == "unhealthy")
    # An edit that cannot be taken: the error is recorded, shown and stored.
    r.config.write_text(r.config.read_text().replace("restart: {max_retries: 0}", "replicas: ${DB_PASSWORD}"))
    wait_for(lambda: r.client.get("/v1/config")["error"] is not None)
    outputs = {
        "validate": r.cli("validate", "-f", str(r.config)).output,
        "status": r.cli("status").output,
        "events": r.cli("events", "-n", "1000").output,
        "api processes": json.dumps(r.client.get("/v1/processes")),
        "api events": json.dumps(r.client.get("/v1/events", limit=1000)),
        "api config": json.dumps(r.client.get("/v1/config")),
    }
    assert "must be a whole number (got '***')" in outputs["api config"]
    r.config.write_text(r.config.read_text().replace("replicas: ${DB_PASSWORD}", "replicas: 1"))
    wait_for(lambda: r.client.get("/v1/config")["error"] is None)
    outputs["config"] = r.cli("config", "-f", str(r.config)).output
    outputs["config --json"] = r.cli("config", "-f", str(r.config), "--json").output
    outputs["api config (valid)"] = json.dumps(r.client.get("/v1/config"))
    assert "postgres://app:***@db/app" in outputs["config"]
    r.stop()
    outputs["reconciler log"] = r.log
    outputs["status (offline)"] = r.cli("status").output
    for name, text in outputs.items():
        assert SECRET not in text and "plain-LEAK-2" not in text, f"{name}:\n{text}"
    for path in r.home.rglob("*"):
        if path.is_file() and path.parent.name != "logs":  # the children's own output is theirs
            data = path.read_bytes()
            assert SECRET.encode() not in data and b"plain-LEAK-2" not in data, path


def test_a_slow_config_load_leaves_the_loop_answering_and_supervising(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("processes:\n  web: {command: sleep 1000, restart: {backoff: {initial: 0}}}\n")
    r.start()
    first = r.wait_state("web", "running")["pid"]
    env = "\n".join(f"    K{i}: v" for i in range(2_000))
    idle = "\n".join(f"  idle{i}: {{command: sleep 1000, replicas: 0}}" for i in range(30))
    r.config.write_text(f"defaults:\n  env:\n{env}\nprocesses:\n"  # some tenths of a second of loading
                        f"  web: {{command: sleep 1000, restart: {{backoff: {{initial: 0}}}}}}\n{idle}\n")
    wait_for(lambda: r.client.get("/v1/config").get("loading"), timeout=20.0,
             message="the reconciler never answered while it was loading the config")
    os.kill(first, signal.SIGKILL)  # and it still supervises: the exit is seen and the process replaced
    wait_for(lambda: r.row("web")["pid"] not in (None, first), timeout=20.0)
    wait_for(lambda: "idle0" in r.client.get("/v1/config")["config"]["processes"], timeout=30.0)  # taken in the end
    assert r.client.get("/v1/config")["error"] is None
