"""35 start, stop and restart calls at once on one process, each its own HTTP request on the socket from its own
thread: none is answered with a 5xx, at no moment do two instances of the process run, and once the storm is
over and the process is started, exactly one instance runs (counted in the process table, not in the API)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psutil

from tests.support.daemon import Reconciler
from tests.support.procs import marked
from tests.support.unixhttp import raw_request
from tests.support.wait import wait_for

CALLS = 35
COMMAND = ["sleep", "31337"]  # what identifies an instance of the process in the process table


def _instances() -> list[int]:
    found = []
    for proc in marked():
        try:
            if proc.cmdline() == COMMAND:
                found.append(proc.pid)
        except psutil.Error:
            continue  # gone (or a zombie) while we looked
    return found


def test_35_concurrent_actions_on_one_process_leave_exactly_one_instance(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(f"processes: {{svc: {{command: {' '.join(COMMAND)}, stop: {{timeout: 5s}}}}}}")
    r.start()
    first = r.wait_state("svc", "running")
    wait_for(lambda: _instances() == [first["pid"]])  # the process table shows it as the API does
    barrier = threading.Barrier(CALLS)
    most_seen = 0
    storm_over = threading.Event()

    def act(index: int) -> tuple[str, int, str]:
        verb = ("start", "stop", "restart")[index % 3]
        barrier.wait()
        status, _, text = raw_request(r.state_dir.socket, "POST", f"/v1/processes/svc/{verb}", b'{"timeout": 5}')
        return verb, status, text

    def watch() -> None:
        nonlocal most_seen
        while not storm_over.is_set():
            most_seen = max(most_seen, len(_instances()))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(CALLS) as pool:
            answers = list(pool.map(act, range(CALLS)))
    finally:
        storm_over.set()
        watcher.join()
    server_errors = [answer for answer in answers if answer[1] >= 500]
    assert server_errors == []
    assert {status for _, status, _ in answers} <= {200, 409}, answers
    assert all(json.loads(text)["done"] == ["svc"] for _, status, text in answers if status == 200)
    assert most_seen <= 1, f"{most_seen} instances of svc ran at once"

    assert raw_request(r.state_dir.socket, "POST", "/v1/processes/svc/start", b'{"timeout": 10}')[0] == 200
    row = r.wait_state("svc", "running")
    wait_for(lambda: _instances() == [row["pid"]], timeout=10,
             message=lambda: f"instances {_instances()}, the reconciler says {r.row('svc')}")
    assert "Traceback" not in r.log
