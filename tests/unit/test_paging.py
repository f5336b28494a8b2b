"""Paging of the API's lists (sentinel/api/paging.py): a page cut out of a sorted list by `limit` and a cursor,
every item reached exactly once by following the cursor either way, and bad values refused with a 422."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from sentinel.api.answers import ApiError
from sentinel.api.paging import MAX_LIMIT, Page, page_of


def _request(query: str, path: str = "/v1/things") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "query_string": query.encode(), "headers": []})


def _all_pages(items: list[str], page: Page) -> list[list[str]]:
    pages = []
    while True:
        found, more = page.window(items, str)
        pages.append(found)
        if not more:
            return pages
        if page.forward:
            page = Page(limit=page.limit, after=found[-1], from_tail=page.from_tail)
        else:
            page = Page(limit=page.limit, before=found[0], from_tail=page.from_tail)


@given(st.lists(st.text(min_size=1, max_size=3), unique=True).map(sorted), st.integers(1, 6), st.booleans())
def test_following_the_cursor_reaches_every_item_once_in_either_direction(
        items: list[str], limit: int, from_tail: bool) -> None:
    pages = _all_pages(items, Page(limit=limit, from_tail=from_tail))
    flat = [item for page in (reversed(pages) if from_tail else pages) for item in page]
    assert flat == items
    assert all(len(page) == limit for page in pages[:-1])


def test_a_page_after_or_before_a_key_that_is_not_in_the_list() -> None:
    items = ["a", "c", "e", "g"]
    assert Page(limit=2, after="b").window(items, str) == (["c", "e"], True)
    assert Page(limit=2, before="f").window(items, str) == (["c", "e"], True)
    assert Page(limit=5, before="b").window(items, str) == (["a"], False)
    assert Page(limit=5, after="z").window(items, str) == ([], False)


def test_the_next_url_keeps_the_query_and_moves_the_cursor() -> None:
    request = _request("group=web&limit=2&after=a&state=running&state=backoff")
    page = page_of(request, default=MAX_LIMIT)
    found, more = page.window(["a", "b", "c", "d"], str)
    assert page.next_url(request, found, str, more) == \
        "/v1/things?group=web&limit=2&state=running&state=backoff&after=c"
    tail = page_of(_request("limit=2"), default=20, from_tail=True)
    newest, older = tail.trim([3, 4, 5])
    assert (newest, tail.next_url(_request("limit=2"), newest, str, older)) == ([4, 5], "/v1/things?limit=2&before=4")
    assert tail.next_url(_request("limit=2"), [1], str, False) is None


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), (f"limit={MAX_LIMIT + 1}", "limit"), ("limit=", "limit"), ("limit=٣", "limit"),
    ("after=a&before=b", "before"),
])
def test_a_bad_value_is_a_422_naming_the_parameter(query: str, field: str) -> None:
    with pytest.raises(ApiError) as raised:
        page_of(_request(query), default=20)
    assert (raised.value.status, raised.value.code, raised.value.extra["field"]) == (422, "invalid_query", field)


def test_a_numeric_cursor_must_be_a_whole_number() -> None:
    assert Page(limit=1, after="12").int_cursor() == (12, None)
    with pytest.raises(ApiError, match="before: must be a whole number"):
        Page(limit=1, before="1e3").int_cursor()
