"""How much of each Graph list the input files hold: its pages, those linking on, its stated count.

Graph returns a long list in pages; every page but the last carries `@odata.nextLink` ("Paging
Microsoft Graph data in your app", microsoftgraph/microsoft-graph-docs-contrib
concepts/paging.md: a page may hold zero results; read until no nextLink is returned), and with
`$count=true` the first page states the list's size in `@odata.count`. A list whose pages all link
onward, or that holds fewer records than its count, was saved in part (`ListPages.is_cut`).

A list is named by its `@odata.context` after `#` (`deviceManagement/managedDevices`,
`deviceManagement/depOnboardingSettings('…')/enrollmentProfiles` for a child list), so pages of
one list saved into several files add up (`merge_lists`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from auditor.models import BatchKind
from auditor.normalize.text import quoted

_SELECT = re.compile(r"\((?!')[^)]*\)")  # `managedDevices(id,serialNumber)`: a $select list
_LINK_PATH = re.compile(
    r"/(deviceManagement|deviceAppManagement)/(\w+)(?:\('([^']*)'\)|/([^/?']+))?(?:/(\w+))?/?$"
)
_FILES_SHOWN = 3


@dataclass(frozen=True, slots=True)
class ListPages:
    """The pages of one Graph list found in the inputs, and what they say about its whole.

    Attributes:
        kind: the batch kind of its records.
        path: the list as its `@odata.context` names it after `#`, without a `$select` list
            ("" when its pages were saved without a context).
        files: the files (or ZIP members) holding its pages, in reading order.
        pages: pages read (a page without records counts).
        linked_pages: pages carrying `@odata.nextLink` (more pages follow them).
        records: records read from its pages.
        stated_count: the largest `@odata.count` a page stated, or None.
    """

    kind: BatchKind
    path: str
    files: tuple[str, ...]
    pages: int
    linked_pages: int
    records: int
    stated_count: int | None = None

    @property
    def lacks_last_page(self) -> bool:
        """Every page links onward: the last page (the one without a nextLink) was not read."""
        return self.pages > 0 and self.linked_pages == self.pages

    @property
    def lacks_records(self) -> bool:
        """The list's own `@odata.count` says it holds more records than were read."""
        return self.stated_count is not None and self.stated_count > self.records

    @property
    def is_cut(self) -> bool:
        """The inputs hold only part of this list."""
        return self.lacks_last_page or self.lacks_records

    def plus(self, other: ListPages) -> ListPages:
        """This list with `other`'s pages of it added (from another file or line)."""
        counts = [c for c in (self.stated_count, other.stated_count) if c is not None]
        return ListPages(
            self.kind,
            self.path or other.path,
            tuple(dict.fromkeys((*self.files, *other.files))),
            self.pages + other.pages,
            self.linked_pages + other.linked_pages,
            self.records + other.records,
            max(counts) if counts else None,
        )

    def shortfall(self) -> str:
        """What the files hold of this list and why it is not whole, for a gap's reason."""
        files = ", ".join(self.files[:_FILES_SHOWN])
        if len(self.files) > _FILES_SHOWN:
            files += f" and {len(self.files) - _FILES_SHOWN:,} more files"
        held = (
            f"{files} {'holds' if len(self.files) == 1 else 'hold'} "
            f"{_counted(self.pages, 'page')} ({_counted(self.records, 'record')}) of the "
            f"list {self.shown_path()}"
        )
        if self.lacks_last_page:
            which = "it carries" if self.pages == 1 else "every one carries"
            stated = f"; its @odata.count says {self.stated_count:,}" if self.lacks_records else ""
            return (
                f"{held}, and {which} @odata.nextLink: the list goes on, and its last page "
                f"(the one without a nextLink) was not saved{stated}"
            )
        return f"{held}, but its @odata.count says the list holds {self.stated_count:,}"

    def shown_path(self) -> str:
        """The list's name as messages quote it."""
        return quoted(self.path, 160) if self.path else f"of {self.kind.value.replace('_', ' ')}"


def _counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def list_path(context: str) -> str:
    """The list an `@odata.context` names: the part after `#`, without a `$select` list."""
    _, mark, path = context.partition("#")
    return _SELECT.sub("", path) if mark else ""


def link_path(link: str) -> str:
    """The list a nextLink continues, named as its context would name it ("" if unknown).

    `…/beta/deviceManagement/depOnboardingSettings/{id}/enrollmentProfiles?$skiptoken=…`
    continues `deviceManagement/depOnboardingSettings('{id}')/enrollmentProfiles`.
    """
    try:
        path = unquote(urlsplit(link).path)
    except ValueError:
        return ""
    match = _LINK_PATH.search(path)
    if match is None:
        return ""
    root, collection, quoted_key, key, navigation = match.groups()
    key = quoted_key if quoted_key is not None else key
    keyed = f"('{key}')" if key is not None else ""
    return f"{root}/{collection}{keyed}" + (f"/{navigation}" if navigation else "")


def next_link(page: dict[str, Any]) -> Any:
    """A page's `@odata.nextLink` (any case), or None."""
    for key, value in page.items():
        if key.casefold() == "@odata.nextlink":
            return value
    return None


def is_linked(link: Any) -> bool:
    """Whether a nextLink value says more pages follow (null or blank says none)."""
    return link is not None and not (isinstance(link, str) and not link.strip())


def stated_count(page: dict[str, Any]) -> int | None:
    """A page's `@odata.count` (a number, or a string of digits as IEEE754Compatible sends it)."""
    for key, value in page.items():
        if key.casefold() == "@odata.count":
            if isinstance(value, bool):
                return None
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str) and value.strip().isdigit():
                return int(value)
            return None
    return None


class PageTally:
    """The list pages one file held, as they are read (the file's `ListPages`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lists: dict[tuple[BatchKind, str], ListPages] = {}
        self._last: tuple[BatchKind, str] | None = None

    def page(
        self, kind: BatchKind | None, context: str, records: int, page: dict[str, Any]
    ) -> None:
        """One page read: its kind (None: not told), `@odata.context` and number of records.

        A page naming no list (a nextLink alone, without a context) belongs to the list its
        nextLink continues, else to the list of the page before it, else to the device list.
        """
        link = next_link(page)
        path = list_path(context) or (link_path(str(link)) if is_linked(link) else "")
        if kind is None:
            kind, path = self._last or (BatchKind.GRAPH_DEVICES, path)
        self.add(
            ListPages(
                kind, path, (self.name,), 1, int(is_linked(link)), records, stated_count(page)
            )
        )

    def add(self, pages: ListPages) -> None:
        """Pages of one list (a whole document's, or another process's)."""
        key = (pages.kind, pages.path)
        known = self._lists.get(key)
        self._lists[key] = pages if known is None else known.plus(pages)
        self._last = key

    def lists(self) -> tuple[ListPages, ...]:
        """Every list this file held pages of, in the order first seen."""
        return tuple(self._lists.values())


def merge_lists(lists: Iterable[ListPages]) -> tuple[ListPages, ...]:
    """The pages of each list added up across files.

    Pages saved without an `@odata.context` join the one named list of their kind, if there
    is exactly one (else they stay a list of their own).
    """
    by_key: dict[tuple[BatchKind, str], ListPages] = {}
    for pages in lists:
        key = (pages.kind, pages.path)
        known = by_key.get(key)
        by_key[key] = pages if known is None else known.plus(pages)
    for kind, path in [k for k in by_key if not k[1]]:
        named = [k for k in by_key if k[0] == kind and k[1]]
        if len(named) == 1:
            by_key[named[0]] = by_key[named[0]].plus(by_key.pop((kind, path)))
    return tuple(by_key.values())
