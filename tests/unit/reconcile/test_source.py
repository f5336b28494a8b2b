"""The git source's decisions (sentinel.reconcile.source) and paths (sentinel.config.gitpath); docs/gitops.md."""

from __future__ import annotations

import os
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentinel.config.gitpath import escaping_links, fill, outside, path_problem, placeholders
from sentinel.config.loader import load
from sentinel.config.secrets import mask_credentials, masked_config
from sentinel.reconcile.source import (
    APPLY,
    KEEP,
    Commit,
    SourceState,
    applied,
    checkout_lost,
    fetch_failed,
    fetched,
    next_fetch,
    refused,
    resumed,
    suspended,
)

USERINFO = string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:"  # what RFC 3986 allows in user info
WALL = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
GOOD, BAD, NEXT = Commit("a" * 40, "Add web"), Commit("b" * 40, "Break web"), Commit("c" * 40, "")


def test_fetch_waits_for_the_interval_unless_a_sync_asks_and_never_while_suspended() -> None:
    state = SourceState(next_fetch_at=70.0)
    assert next_fetch(state, 10.0, sync_requested=False) == 60.0
    assert next_fetch(state, 80.0, sync_requested=False) == 0.0
    assert next_fetch(state, 10.0, sync_requested=True) == 0.0
    held = suspended(state, WALL)
    assert next_fetch(held, 80.0, sync_requested=True) is None
    assert suspended(held, datetime(2027, 1, 1, tzinfo=UTC)).suspended_since == WALL  # since the first suspend
    again = resumed(held, 90.0)
    assert again.suspended_since is None
    assert next_fetch(again, 90.0, sync_requested=False) == 0.0  # resume pulls the newest commit at once


def test_a_new_commit_is_applied_the_running_or_refused_one_is_kept() -> None:
    state, verdict = fetched(SourceState(fetch_error="down"), GOOD, 5.0, WALL, 60.0)
    assert verdict == APPLY
    assert (state.fetch_error, state.fetched_at, state.next_fetch_at) == (None, WALL, 65.0)
    state = applied(state, GOOD)
    assert fetched(state, GOOD, 6.0, WALL, 60.0)[1] == KEEP
    state = refused(state, BAD, "hosts/a.yaml:3:9: bad")
    assert (state.applied, state.refused, state.refused_why) == (GOOD, BAD, "hosts/a.yaml:3:9: bad")
    assert fetched(state, BAD, 7.0, WALL, 60.0)[1] == KEEP  # not tried again until another commit comes
    assert fetched(state, NEXT, 8.0, WALL, 60.0)[1] == APPLY
    state = applied(state, NEXT)
    assert (state.applied, state.refused, state.refused_why) == (NEXT, None, None)


def test_a_lost_checkout_makes_the_next_fetch_apply_the_same_commit_again() -> None:
    state = checkout_lost(applied(SourceState(), GOOD))
    assert fetched(state, GOOD, 1.0, WALL, 60.0)[1] == APPLY


def test_the_bootstrap_file_shows_its_url_without_credentials(tmp_path: Path) -> None:
    bootstrap = tmp_path / "bootstrap.yaml"
    bootstrap.write_text("source:\n  git: https://deploy:t0ken@git.example.com/fleet.git\n")
    shown = masked_config(load(str(bootstrap)).config)
    assert shown["source"] == {"git": "https://***@git.example.com/fleet.git"}


def test_a_failed_fetch_is_said_and_retried_after_the_interval_keeping_what_runs() -> None:
    state = fetch_failed(applied(SourceState(), GOOD), "fetch failed", 10.0, 60.0)
    assert (state.applied, state.fetch_error, state.next_fetch_at) == (GOOD, "fetch failed", 70.0)


def test_a_commit_is_named_by_its_short_hash_and_subject() -> None:
    assert GOOD.describe() == "aaaaaaaaaaaa (Add web)"
    assert NEXT.describe() == "cccccccccccc"


@pytest.mark.parametrize(("text", "masked"), [
    ("https://alice:s3cret@git.example.com/repo", "https://***@git.example.com/repo"),
    ("fetch of https://TOKEN@host/r failed", "fetch of https://***@host/r failed"),
    ("git@github.com:org/repo", "git@github.com:org/repo"),  # scp-like: a user name, no secret
    ("file:///srv/repo", "file:///srv/repo"),
])
def test_credentials_in_urls_are_masked(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked


def test_the_credentials_of_the_source_are_masked_where_git_quotes_them_without_a_scheme() -> None:
    url = "https://alice:s3cret@git.example.com/repo"
    assert "s3cret" not in mask_credentials("unable to access 'alice:s3cret@git.example.com/repo'", url)


@given(user=st.text(USERINFO.replace(":", ""), min_size=1), secret=st.text(USERINFO, min_size=1))
def test_no_password_survives_masking(user: str, secret: str) -> None:
    url = f"https://{user}:{secret}@host/repo"
    assert f"{user}:{secret}@" not in mask_credentials(f"failed: {url}", url)


def test_source_paths_take_the_host_placeholders_and_stay_in_the_repository() -> None:
    values = placeholders("web-1.example.com")
    assert fill("hosts/{hostname}.yaml", values) == "hosts/web-1.example.com.yaml"
    assert fill("hosts/{short_hostname}.yaml", values) == "hosts/web-1.yaml"
    known = "(known: {hostname}, {short_hostname})"
    assert path_problem("hosts/{role}.yaml") == f"has an unknown placeholder {{role}} {known}"
    assert path_problem("/etc/sentinel.yaml") == "must be relative to the repository's root"
    assert path_problem("hosts/../../x.yaml") == "must not contain `..` (it stays inside the repository)"
    assert path_problem(" ") == "is empty"
    with pytest.raises(ValueError, match=r"must not contain `\.\.`"):
        fill("{hostname}/x.yaml", placeholders(".."))


def test_files_and_links_leaving_the_checkout_are_found(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    (root / "hosts").mkdir(parents=True)
    (root / "hosts" / "a.yaml").write_text("")
    os.symlink("a.yaml", root / "hosts" / "inside.yaml")
    assert escaping_links(str(root)) is None
    assert outside(str(root), [str(root / "hosts" / "inside.yaml"), str(root)]) is None
    os.symlink("/etc/passwd", root / "hosts" / "b.yaml")
    assert escaping_links(str(root)) == str(root / "hosts" / "b.yaml")
    assert outside(str(root), [str(root / "hosts" / "b.yaml")]) == str(root / "hosts" / "b.yaml")
