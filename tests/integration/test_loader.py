"""Loading real files: includes, environments, templates, paths, env files and interpolation,
and the file:line:col of every error they can produce."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentinel.config.loader import load
from sentinel.errors import ConfigError
from tests.support.files import write


def errors(path: str, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, **kwargs)  # type: ignore[arg-type]
    return str(caught.value).splitlines()


def test_includes_merge_in_order_and_the_including_file_wins(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        include: [conf.d/*.yaml]
        processes:
          web: {replicas: 3}
    """)
    write(tmp_path, "conf.d/10-base.yaml", """
        processes:
          web: {command: serve, replicas: 1, env: {A: "1"}}
          worker: {command: work}
    """)
    write(tmp_path, "conf.d/20-override.yaml", """
        processes:
          web: {env: {B: "2"}, replicas: 2}
    """)
    loaded = load(root, environ={})
    web = loaded.config.processes["web"]
    assert (web.command, web.replicas, web.env) == ("serve", 3, {"A": "1", "B": "2"})
    assert set(loaded.config.processes) == {"web", "worker"}
    assert [Path(f).name for f in loaded.files] == ["sentinel.yaml", "10-base.yaml", "20-override.yaml"]


def test_nested_includes_are_relative_to_their_own_file(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", "include: teams/a.yaml\n")
    write(tmp_path, "teams/a.yaml", "include: [shared/b.yaml]\nprocesses: {a: {command: a}}\n")
    write(tmp_path, "teams/shared/b.yaml", "processes: {b: {command: b}}\n")
    assert set(load(root, environ={}).config.processes) == {"a", "b"}


def test_a_glob_that_matches_nothing_is_fine_but_a_missing_file_is_not(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        include:
          - conf.d/*.yaml
          - missing.yaml
        processes: {a: {command: a}}
    """)
    missing = os.path.join(str(tmp_path), "missing.yaml")
    assert errors(root) == [f"{root}:3:5: include[1]: '{missing}' does not exist"]


def test_an_include_cycle_is_reported(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", "include: [a.yaml]\nprocesses: {}\n")
    a = write(tmp_path, "a.yaml", "include: [sentinel.yaml]\n")
    assert errors(root) == [f"{a}:1:11: include: '{root}' includes itself (directly or through other files)"]


def test_errors_in_included_files_point_into_them(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", "include: [team.yaml]\nprocesses: {web: {command: w}}\n")
    team = write(tmp_path, "team.yaml", """
        processes:
          worker:
            command: work
            restart: {policy: sometimes}
    """)
    assert errors(root) == [
        f"{team}:4:23: processes.worker.restart.policy: must be one of always, on-failure, never (got 'sometimes')"
    ]


def test_relative_paths_are_relative_to_the_declaring_file(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", "include: [sub/team.yaml]\nprocesses: {top: {command: t}}\n")
    write(tmp_path, "sub/team.yaml", """
        processes:
          api: {command: api, cwd: ./site, env_file: api.env}
    """)
    write(tmp_path, "sub/api.env", "FROM_FILE=yes\n")
    processes = load(root, environ={}).config.processes
    assert processes["api"].cwd == str(tmp_path / "sub" / "site")
    assert processes["api"].env_file == [str(tmp_path / "sub" / "api.env")]
    assert processes["top"].cwd == str(tmp_path), "without cwd, a process runs in the root file's directory"


def test_home_is_expanded_in_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    root = write(tmp_path, "sentinel.yaml", "processes: {a: {command: a, cwd: ~/work}}\n")
    assert load(root, environ={}).config.processes["a"].cwd == str(tmp_path / "work")


def test_env_file_variables_feed_interpolation_and_are_returned(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        processes:
          web:
            command: serve --port ${PORT}
            env_file: [base.env, local.env]
            env: {URL: "http://${HOST:-localhost}:${PORT}"}
    """)
    write(tmp_path, "base.env", "PORT=8000\nHOST=base\n")
    write(tmp_path, "local.env", "PORT=9000\n")
    loaded = load(root, environ={"HOST": "from-environ"})
    web = loaded.config.processes["web"]
    assert web.command == "serve --port 9000"
    assert web.env == {"URL": "http://base:9000"}, "env_file values win over the reconciler's environment"
    assert loaded.env_files["web"] == {"PORT": "9000", "HOST": "base"}


def test_env_file_path_may_use_variables(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", "processes: {a: {command: a, env_file: '${STAGE}.env'}}\n")
    write(tmp_path, "prod.env", "X=1\n")
    assert load(root, environ={"STAGE": "prod"}).env_files["a"] == {"X": "1"}


def test_env_file_problems(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        processes:
          a: {command: a, env_file: nope.env}
          b: {command: b, env_file: [bad.env]}
    """)
    bad = write(tmp_path, "bad.env", "OK=1\nthis is not a pair\n")
    nope = os.path.join(str(tmp_path), "nope.env")
    assert errors(root) == [
        f"{bad}:2:1: expected KEY=value (env file of processes.b.env_file[0])",
        f"{root}:2:29: processes.a.env_file: env file '{nope}' not found",
    ]


def test_unset_variables_are_errors_at_their_place(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        processes:
          a:
            command: run ${NOPE}
            env: {X: "${ALSO_NOPE:?set ALSO_NOPE in .env}"}
        api: {listen: "127.0.0.1:${API_PORT}"}
    """)
    assert errors(root, environ={}) == [
        f"{root}:3:14: processes.a.command: variable NOPE is not set (write ${{NOPE:-default}} to give a default)",
        f"{root}:4:14: processes.a.env.X: variable ALSO_NOPE: set ALSO_NOPE in .env",
        f"{root}:5:15: api.listen: variable API_PORT is not set (write ${{API_PORT:-default}} to give a default)",
    ]


def test_environment_overlay_applies_before_templates_and_defaults(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        defaults: {stop: {timeout: 5s}}
        templates:
          py: {command: python -m app, env: {MODE: dev}}
        processes:
          web: {extends: py, replicas: 1}
        environments:
          prod:
            templates: {py: {env: {MODE: prod}}}
            defaults: {stop: {timeout: 30s}}
            processes:
              web: {replicas: 4}
              metrics: {extends: py, command: python -m metrics}
    """)
    dev = load(root, environ={}).config.processes
    prod = load(root, env="prod", environ={}).config.processes
    assert (dev["web"].replicas, dev["web"].env, dev["web"].stop.timeout) == (1, {"MODE": "dev"}, 5.0)
    assert (prod["web"].replicas, prod["web"].env, prod["web"].stop.timeout) == (4, {"MODE": "prod"}, 30.0)
    assert prod["metrics"].env == {"MODE": "prod"} and "metrics" not in dev


def test_an_unknown_environment_is_one_line(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", "processes: {}\nenvironments: {prod: {}, dev: {}}\n")
    assert errors(root, env="stage") == [f"{root}:2:1: --env: unknown environment 'stage' (defined: dev, prod)"]


def test_typos_are_found_in_unused_templates_and_unselected_environments(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        templates:
          unused: {comand: x}
        processes:
          web: {command: w}
        environments:
          prod:
            processes: {web: {replica: 2}}
            defualts: {}
    """)
    assert errors(root) == [
        f"{root}:2:12: templates.unused.comand: unknown key; did you mean 'command'?",
        f"{root}:7:23: environments.prod.processes.web.replica: unknown key; did you mean 'replicas'?",
        f"{root}:8:5: environments.prod.defualts: unknown key; did you mean 'defaults'?",
    ]


def test_every_problem_is_listed_once(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        version: 2
        procesess: {}
        processes:
          web:
            command: w
            replicas: -1
            restart: {policy: sometimes, backof: {}}
          bad/name: {command: x}
          db: {}
    """)
    assert errors(root) == [
        f"{root}:1:10: version: must be 1 (got 2)",
        f"{root}:2:1: procesess: unknown key; did you mean 'processes'?",
        f"{root}:6:15: processes.web.replicas: must be at least 0 (got -1)",
        f"{root}:7:23: processes.web.restart.policy: must be one of always, on-failure, never (got 'sometimes')",
        f"{root}:7:34: processes.web.restart.backof: unknown key; did you mean 'backoff'?",
        f"{root}:8:3: processes[\"bad/name\"]: must start with a letter or digit and hold only letters, digits, "
        "'_', '.' and '-' (got 'bad/name')",
        f"{root}:9:3: processes.db.command: is required",
    ]


def test_kinds_get_their_own_defaults(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        processes:
          svc: {command: s}
          job: {command: j, schedule: {every: 15m}}
          retried: {command: r, schedule: {cron: "0 3 * * *"}, restart: {max_retries: 2}}
          explicit: {command: e, schedule: {at: "2026-12-01T03:00:00Z"}, restart: {policy: on-failure}}
    """)
    p = load(root, environ={}).config.processes
    assert p["svc"].restart.policy == "always" and p["svc"].concurrency is None
    assert (p["job"].restart.policy, p["job"].concurrency, p["job"].on_missed, p["job"].keep_runs) == (
        "never", "forbid", "run-once", 20)
    assert (p["retried"].restart.policy, p["retried"].restart.max_retries) == ("never", 2)
    assert p["explicit"].restart.policy == "on-failure"
    assert p["job"].schedule is not None and p["job"].schedule.every == 900.0


def test_secret_values_are_masked_in_errors(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", "processes: {a: {command: a, env: {API_TOKEN: 1.5, RATE: 2.5}}}\n")
    assert errors(root) == [
        f"{root}:1:46: processes.a.env.API_TOKEN: must be a string; quote it so YAML keeps it as written (got '***')",
        f"{root}:1:57: processes.a.env.RATE: must be a string; quote it so YAML keeps it as written (got 2.5)",
    ]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param(lambda p: None, "file not found", id="missing"),
        pytest.param(lambda p: p.mkdir(), "is a directory, not a file", id="directory"),
    ],
)
def test_unreadable_root_file(tmp_path: Path, setup: object, message: str) -> None:
    path = tmp_path / "sentinel.yaml"
    setup(path)  # type: ignore[operator]
    assert errors(str(path)) == [f"{path}: {message}"]


def test_a_path_through_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = Path(write(tmp_path, "file", "x"))
    assert errors(str(blocker / "sentinel.yaml")) == [f"{blocker}/sentinel.yaml: cannot be read: Not a directory"]


def test_a_bad_extends_is_reported_once(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        templates: {python: {env: {A: "1"}}}
        processes:
          a: {command: "true", extends: pythn}
          b: {command: b, depends_on: [a]}
    """)
    assert errors(root) == [
        f"{root}:3:33: processes.a.extends: unknown template 'pythn'; did you mean 'python'? (defined: python)"
    ]


def test_null_with_nothing_to_delete_says_so(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", "processes:\n  gone: null\n")
    assert errors(root) == [
        f"{root}:2:9: processes.gone: is null: null deletes an inherited value, and there is none to delete here"
    ]


def test_interpolation_reads_the_process_environment(tmp_path: Path) -> None:
    root = write(tmp_path, "sentinel.yaml", """
        processes:
          web:
            command: serve --port ${PORT} --host ${HOST}
            env_file: web.env
            env: {PORT: "${BASE_PORT:-8000}", URL: "http://${HOST}:${PORT:-none}"}
            health: {http: "http://${HOST}:${PORT}/"}
    """)
    write(tmp_path, "web.env", "HOST=file-host\n")
    web = load(root, environ={"HOST": "environ-host"}).config.processes["web"]
    assert web.command == "serve --port 8000 --host file-host"
    assert web.env == {"PORT": "8000", "URL": "http://file-host:none"}, "env values read environ and env_file only"
    assert web.health is not None and web.health.http == "http://file-host:8000/"


def test_a_load_builds_the_process_model_once_for_the_desired_state(tmp_path: Path) -> None:
    """Process's validator and serializer are built before Config's, which reuses them: the desired state's dump
    of each Process then builds nothing more (it built Process's schema a second time). A fresh interpreter, as
    `sentinel up` starts: another test may have built the models already in this one."""
    root = write(tmp_path, "sentinel.yaml", """
        processes:
          web: {command: serve}
    """)
    program = (
        "import sys\n"
        "from sentinel.config.loader import load\n"
        "from sentinel.config.models import Process\n"
        "load(sys.argv[1], environ={})\n"
        "print(Process.__pydantic_complete__)\n"
    )
    done = subprocess.run([sys.executable, "-c", program, root], capture_output=True, text=True, check=True,
                          timeout=60)
    assert done.stdout.strip() == "True"
