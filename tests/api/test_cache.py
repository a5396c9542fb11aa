"""ReadCache's log pages: kept by what they hold, a bounded few."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from opensan.api.cache import MAX_PAGES, ReadCache


def builder(key: Hashable, built: list[Hashable]) -> Any:
    def build() -> tuple[Hashable, bytes]:
        built.append(key)
        return key, repr(key).encode()
    return build


def test_a_page_is_built_once_and_kept_under_the_key_of_what_was_read() -> None:
    cache = ReadCache(service=None)  # type: ignore[arg-type]  # pages need no service
    built: list[Hashable] = []
    assert cache.page((1, 50, 10), builder((1, 50, 10), built)) == b"(1, 50, 10)"
    assert cache.page((1, 50, 10), builder((1, 50, 10), built)) == b"(1, 50, 10)"
    # The log grew between the count and the read: the page is kept under its real length.
    assert cache.page((1, 50, 11), builder((1, 50, 12), built)) == b"(1, 50, 12)"
    assert cache.page((1, 50, 12), builder((1, 50, 12), built)) == b"(1, 50, 12)"
    assert built == [(1, 50, 10), (1, 50, 12)]


def test_only_the_last_pages_read_are_kept() -> None:
    cache = ReadCache(service=None)  # type: ignore[arg-type]
    built: list[Hashable] = []
    for page in range(MAX_PAGES + 1):
        cache.page(page, builder(page, built))
    cache.page(MAX_PAGES, builder(MAX_PAGES, built))  # still kept
    cache.page(0, builder(0, built))  # the oldest went
    assert built == [*range(MAX_PAGES + 1), 0]
