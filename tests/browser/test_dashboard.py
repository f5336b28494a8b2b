"""The dashboard end to end in headless Chromium (docs/api.md#the-dashboard): Debian's `chromium`, driven by
Playwright (never `playwright install`). One reconciler serves every scenario of this module; each scenario has its
own browser context (its own session storage) and takes screenshots into its tmp dir. `SENTINEL_SCREENSHOTS=1`
also writes the README's docs/images/dashboard.png (`scripts/screenshot` does so).

Run: `.venv/bin/pytest -m browser --no-cov -n 0 tests/browser` (CI's own step; the marker keeps them out of the
default suite)."""

from __future__ import annotations

import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.support.daemon import ROOT, Reconciler
from tests.support.procs import MARKER, kill_marked, leaks
from tests.support.tcphttp import free_port

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
README_SHOT = ROOT / "docs" / "images" / "dashboard.png"
WAIT_MS = 20_000  # a 2-core machine shared with other test runs: generous deadlines, never sleeps
TALKER = """trap 'cat "$LINE_FILE"' HUP
echo ready
while :; do sleep 0.1; done
"""


@dataclass
class Dashboard:
    reconciler: Reconciler
    url: str
    token: str
    read_token: str
    line_file: Path


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """One reconciler with the TCP API for the module: web and worker (a group), talker (prints the line file's
    text on SIGHUP) and a job."""
    home = tmp_path_factory.mktemp("dashboard")
    marker = uuid.uuid4().hex
    old_marker = os.environ.get(MARKER)
    os.environ[MARKER] = marker
    port = free_port()
    (home / "talker.sh").write_text(TALKER)
    config = home / "sentinel.yaml"
    config.write_text(
        f'api: {{listen: "127.0.0.1:{port}", token_file: {home / "token"}, read_token_file: {home / "read"}}}\n'
        "processes:\n"
        "  web: {command: sleep 1000, group: app}\n"
        "  worker: {command: sleep 1000, group: app}\n"
        f"  talker: {{command: sh {home / 'talker.sh'}, env: {{LINE_FILE: {home / 'line'}}}}}\n"
        "  backup: {command: echo backed up, schedule: {every: 1h}}\n")
    reconciler = Reconciler(home=home / "state", config=config)
    try:
        reconciler.start()
        reconciler.wait_state("talker", "running")
        yield Dashboard(reconciler, f"http://127.0.0.1:{port}/ui/", (home / "token").read_text().strip(),
                        (home / "read").read_text().strip(), home / "line")
    finally:
        reconciler.stop()
        left = leaks(marker)
        kill_marked(marker)
        if old_marker is None:
            del os.environ[MARKER]
        else:
            os.environ[MARKER] = old_marker
        assert not left, f"left running: {left}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context (its own session storage); Content-Security-Policy violations fail the test."""
    expect.set_options(timeout=WAIT_MS)
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    opened = context.new_page()
    violations: list[str] = []
    opened.on("console", lambda message: violations.append(message.text)
              if "Content Security Policy" in message.text else None)
    yield opened
    context.close()
    assert not violations, violations


def log_in(page: Page, dashboard: Dashboard, token: str) -> None:
    page.goto(dashboard.url)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()


def cell(page: Page, name: str, column: str) -> Locator:
    return page.locator(f'tr[data-name="{name}"] .col-{column}')


def test_log_in_and_see_a_stop_from_the_cli(page: Page, dashboard: Dashboard, tmp_path: Path) -> None:
    log_in(page, dashboard, dashboard.token)
    expect(page.get_by_role("heading", name="Processes")).to_be_visible()
    expect(page.locator("#stream")).to_have_text("live")
    expect(cell(page, "web", "state")).to_have_text("running")
    page.screenshot(path=tmp_path / "processes.png")
    if os.environ.get("SENTINEL_SCREENSHOTS"):
        README_SHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=README_SHOT)
    try:
        assert dashboard.reconciler.cli("stop", "web").exit_code == 0
        expect(cell(page, "web", "state")).to_have_text("stopped")
        expect(cell(page, "web", "pid")).to_have_text("—")
        page.screenshot(path=tmp_path / "stopped.png")
    finally:
        assert dashboard.reconciler.cli("start", "web").exit_code == 0
    expect(cell(page, "web", "state")).to_have_text("running")
    page.reload()  # the token is kept for the tab: no second log-in
    expect(cell(page, "web", "state")).to_have_text("running")


def test_restart_from_the_keyboard_shows_the_new_pid(page: Page, dashboard: Dashboard, tmp_path: Path) -> None:
    log_in(page, dashboard, dashboard.token)
    old = dashboard.reconciler.wait_state("worker", "running")["pid"]
    expect(cell(page, "worker", "pid")).to_have_text(str(old))
    page.get_by_role("button", name="restart worker").focus()
    page.keyboard.press("Enter")
    expect(cell(page, "worker", "pid")).not_to_have_text(str(old))
    expect(cell(page, "worker", "state")).to_have_text("running")
    new = dashboard.reconciler.row("worker")["pid"]
    assert new != old
    expect(cell(page, "worker", "pid")).to_have_text(str(new))
    page.screenshot(path=tmp_path / "restarted.png")


def test_a_process_page_follows_its_log(page: Page, dashboard: Dashboard, tmp_path: Path) -> None:
    log_in(page, dashboard, dashboard.token)
    page.get_by_role("link", name="talker").click()
    expect(page.get_by_role("heading", name="talker")).to_be_visible()
    log = page.get_by_role("log")
    expect(log).to_contain_text("ready")  # the last lines, then live
    expect(page.locator('[data-fact="state"]')).to_have_text("running")
    expect(page.get_by_role("heading", name="Recent events")).to_be_visible()
    line = f"printed after the page opened {uuid.uuid4().hex}"
    dashboard.line_file.write_text(line + "\n")
    os.kill(dashboard.reconciler.row("talker")["pid"], signal.SIGHUP)
    expect(log).to_contain_text(line)
    page.screenshot(path=tmp_path / "talker.png")
    page.get_by_role("link", name="Config").click()
    expect(page.locator('[data-fact="revision"]')).to_have_text("—")  # no git source yet
    expect(page.get_by_label("config in force")).to_contain_text('"talker"')
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_role("heading", name="Recent events")).to_be_visible()
    expect(page.locator("table.events tbody tr").first).to_be_visible()


def test_a_job_page_shows_its_runs(page: Page, dashboard: Dashboard) -> None:
    log_in(page, dashboard, dashboard.token)
    page.get_by_role("button", name="run backup").click()
    page.get_by_role("link", name="backup").click()
    expect(page.get_by_role("heading", name="Job runs")).to_be_visible()
    expect(page.locator("table.runs tbody tr").first).to_contain_text("succeeded")


def test_a_read_only_token_sees_no_buttons(page: Page, dashboard: Dashboard, tmp_path: Path) -> None:
    log_in(page, dashboard, dashboard.read_token)
    expect(cell(page, "web", "state")).to_have_text("running")
    expect(page.locator("#access")).to_have_text("read-only")
    expect(page.get_by_role("button", name="restart web")).to_have_count(0)
    expect(page.locator("button.act")).to_have_count(0)
    page.get_by_role("link", name="web").click()
    expect(page.get_by_role("log")).to_be_visible()
    expect(page.locator("button.act")).to_have_count(0)
    page.screenshot(path=tmp_path / "read-only.png")


def test_a_wrong_token_is_refused(page: Page, dashboard: Dashboard, tmp_path: Path) -> None:
    log_in(page, dashboard, dashboard.token + "x")
    expect(page.get_by_role("alert")).to_have_text("That token was refused.")
    expect(page.get_by_role("heading", name="Processes")).to_have_count(0)
    assert page.evaluate("sessionStorage.length") == 0
    page.screenshot(path=tmp_path / "refused.png")


def test_on_a_phone_the_table_fits_the_screen(browser: Browser, dashboard: Dashboard, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        log_in(phone, dashboard, dashboard.token)
        expect(cell(phone, "web", "state")).to_have_text("running")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        phone.screenshot(path=tmp_path / "phone.png", full_page=True)
    finally:
        context.close()
