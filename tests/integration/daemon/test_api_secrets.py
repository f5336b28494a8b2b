"""A planted secret reaches no API answer (docs/security.md): secrets of both kinds (docs/reliability.md#rules),
an env value whose name looks secret and a value `${VAR}` took from an `env_file`, are looked for in the answer
of every read route, of `diff` and `apply` (of a file that changes them, of one that is invalid because of
one), of actions, of bad requests whose error echoes what was sent, and in the reconciler's own log."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support.daemon import Reconciler
from tests.support.unixhttp import raw_request
from tests.support.wait import wait_for

SECRET = "pw-PLANTED-1"  # from the env_file, through ${DB_PASSWORD}
TOKEN = "tok-PLANTED-2"  # an env value masked by its name
NEW_SECRET, NEW_TOKEN = "pw-PLANTED-3", "tok-PLANTED-4"  # in a file that `diff` and `apply` are given
PLANTED = (SECRET, TOKEN, NEW_SECRET, NEW_TOKEN)
CONFIG = """
processes:
  web:
    command: sh -c 'sleep 1000' ${DB_PASSWORD}
    env_file: <env_file>
    env: {API_TOKEN: <token>, DSN: "postgres://app:${DB_PASSWORD}@db/app"}
    group: front
  job:
    command: sh -c 'exit 3' ${DB_PASSWORD}
    env_file: <env_file>
    env: {API_TOKEN: <token>}
    schedule: manual
  broken:
    command: ${DB_PASSWORD}-no-such-program
    env_file: <env_file>
    restart: {max_retries: 0}
"""


def _config(token: str, env_file: str) -> str:
    return CONFIG.replace("<env_file>", env_file).replace("<token>", token)


def test_a_planted_secret_reaches_no_api_answer_and_no_log_line(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(_config(TOKEN, "secret.env"))
    folder = r.config.parent
    (folder / "secret.env").write_text(f"DB_PASSWORD={SECRET}\n")
    (folder / "new.env").write_text(f"DB_PASSWORD={NEW_SECRET}\n")
    (folder / "changed.yaml").write_text(_config(NEW_TOKEN, "new.env"))
    (folder / "invalid.yaml").write_text(_config(NEW_TOKEN, "new.env") + "    replicas: ${DB_PASSWORD}\n")
    r.start()
    r.wait_state("web", "running")
    r.wait_state("broken", "failed")
    answers: dict[str, str] = {}

    def call(method: str, url: str, body: object = None) -> tuple[int, str]:
        status, _, text = raw_request(r.state_dir.socket, method, url,
                                      json.dumps(body).encode() if body is not None else None)
        answers[f"{method} {url} {json.dumps(body)}"] = text
        return status, text

    assert call("POST", "/v1/processes/job/run", {"timeout": 10})[0] == 200
    wait_for(lambda: json.loads(call("GET", "/v1/processes/job/runs")[1])["runs"][-1]["outcome"] == "failed")
    for url in ("/healthz", "/metrics", "/openapi.json", "/v1/config", "/v1/processes", "/v1/processes/web",
                "/v1/processes/broken", "/v1/groups", "/v1/groups/front", "/v1/events?limit=10000",
                "/v1/processes/job/runs"):
        assert call("GET", url)[0] == 200, url
    assert TOKEN not in answers["GET /v1/config null"] and "***" in answers["GET /v1/config null"]
    assert call("POST", "/v1/config/diff", {"file": str(folder / "changed.yaml")})[0] == 200
    assert call("POST", "/v1/config/diff", {"file": str(folder / "invalid.yaml")})[0] == 422
    assert call("POST", "/v1/config/apply", {"file": str(folder / "invalid.yaml"), "timeout": 5})[0] == 422
    # Bad requests whose errors name what was sent: a secret typed in by the caller is not sent back either.
    for method, url, body in [
        ("POST", "/v1/processes/stop", {"targets": [SECRET]}),
        ("POST", "/v1/processes/stop", {"targets": [f"web{SECRET}"], "all": False}),
        ("POST", "/v1/processes/web/signal", {"signal": SECRET}),
        ("POST", f"/v1/processes/{SECRET}/restart", {}),
        ("POST", f"/v1/groups/{TOKEN}/restart", {}),
        ("GET", f"/v1/processes?name={SECRET}", None),
        ("GET", f"/v1/processes?state={SECRET}", None),
        ("GET", f"/v1/events?after={TOKEN}", None),
        ("POST", "/v1/processes/stop", {SECRET: True}),
        ("POST", "/v1/config/diff", {"file": f"/nonexistent/{SECRET}.yaml"}),
        ("GET", f"/v1/no/such/{TOKEN}", None),
        ("DELETE", f"/v1/processes/{SECRET}", None),
    ]:
        assert 400 <= call(method, url, body)[0] < 500, (url, body)
    assert call("POST", "/v1/config/apply", {"file": str(folder / "changed.yaml"), "timeout": 10})[0] == 200
    for url in ("/v1/config", "/v1/processes", "/v1/events?limit=10000", "/metrics"):
        call("GET", url)
    r.stop()
    answers["reconciler log"] = r.log
    leaks = {where: [secret for secret in PLANTED if secret in text] for where, text in answers.items()}
    assert {where: found for where, found in leaks.items() if found} == {}, answers
