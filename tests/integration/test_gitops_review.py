"""examples/gitops/bin/review, the script its CI workflow runs on a pull request: against a real git repository
made here (the example in a folder of it, a base commit and a change), it validates the config and prints, per
host of hosts.txt, what the change would do there (`sentinel diff --base` as that host); an invalid change
exits 2 with the problem's place, and nothing is printed for the hosts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gitops"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def _review(fleet: Path, base: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([str(fleet / "bin" / "review"), base], cwd=fleet.parent, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_review_script_prints_each_hosts_changes_between_two_commits(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    fleet = repo / "fleet"
    shutil.copytree(EXAMPLE, fleet)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "the fleet")
    overrides = fleet / "conf.d" / "90-overrides.yaml"
    overrides.write_text(overrides.read_text().replace("replicas: 3 ", "replicas: 4 "))
    root = fleet / "sentinel.yaml"
    root.write_text(root.read_text().replace("LOG_LEVEL: warning}", "LOG_LEVEL: error}"))
    _git(repo, "commit", "-qam", "more ingest, a quieter api")

    review = _review(fleet, "HEAD~1")
    assert (review.returncode, review.stderr) == (0, "")
    assert review.stdout.split("\n\n") == [
        "### sentinel: what this change does on each host",
        "sentinel.yaml: valid (2 services, 1 job, 4 included file(s))",
        "**web-1** (role=web zone=eu):\n```diff\n~ api restart (env.LOG_LEVEL)\n```",
        "**web-2** (role=web zone=us):\n```diff\n~ api restart (env.LOG_LEVEL)\n```",
        "**worker-1** (role=worker zone=eu):\n```diff\n+ ingest.3 start\n```",
        "**worker-2** (role=worker zone=us):\n```diff\n+ ingest.3 start\n```",
        "",
    ]

    root.write_text(root.read_text() + '    hosts: ["web-["]\n')  # a bad glob, not committed: the checkout is reviewed
    invalid = _review(fleet, "HEAD")
    assert invalid.returncode == 2
    problem = "sentinel.yaml:16:13: processes.api.hosts[0]: 'web-[': '[' without a matching ']'"
    assert problem in invalid.stdout, invalid.stdout
    assert "**web-1**" not in invalid.stdout
