"""iikoServer answers -> plain Python values, robustly (xmltodict for XML, the JSON endpoints too).

XML lists are streamed: ``xmltodict.parse(item_depth=2, item_callback=...)`` hands over each child
of the root as it is parsed, so a large document is never held twice (bytes + a whole tree).

What iiko's XML does that a naive ``xmltodict.parse(...)["root"]["item"]`` gets wrong:

- one child vs. many: a single ``<item>`` parses as a dict, several as a list -> ``force_list``;
- empty lists: ``<items/>`` and ``<items></items>`` parse as None -> ``as_list`` gives [];
- attributes: ``<amount unit="kg">12</amount>`` parses as {"@unit": "kg", "#text": "12"} -> ``text``;
- optional elements may be missing, empty (``<parentId/>``) or nil -> ``text`` gives None;
- references come in a short form (``<supplier>GUID</supplier>``) and a long one
  (``<supplier><id>GUID</id><name>…</name></supplier>``) -> ``ref``.

Anything that is not the expected document (an HTML page with a 200, malformed XML, another root
element, a JSON error where a list was due) is a FatalError with a clear message, raised before a
single record of the answer is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from xml.parsers.expat import ExpatError

import requests
import xmltodict

from connectors.errors import FatalError

# The root element's name, after an optional UTF-8 byte-order mark, declaration, comments and doctype.
ROOT_TAG = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s|<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<([\w:.-]+)", re.S)
HTML_START = re.compile(rb"\A\s*(?:<!DOCTYPE\s+html|<html)", re.I)


def describe(resp: requests.Response) -> str:
    return f"{resp.request.method} {resp.request.path_url.split('?')[0]}" if resp.request else "the answer"


def check_not_html(resp: requests.Response) -> bytes:
    """The body, unless it is a web page: iiko never answers HTML, a proxy or a wrong URL does."""
    content = resp.content or b""
    ctype = resp.headers.get("Content-Type", "")
    if "html" in ctype.lower() or HTML_START.match(content[:512]):
        title = re.search(rb"<title>(.*?)</title>", content[:4096], re.I | re.S)
        hint = f" ({title.group(1).decode('utf-8', 'replace').strip()[:100]})" if title else ""
        raise FatalError(f"{describe(resp)} answered an HTML page{hint} instead of iiko data: check the server "
                         f"URL (a proxy, a login page or a wrong path)", status_code=resp.status_code)
    return content


def parse_list(resp: requests.Response, root: str, item: str, force_list: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The ``<item>`` children of ``<root>`` as dicts; [] for an empty root."""
    content = check_not_html(resp)
    items: list[dict[str, Any]] = []

    def collect(path: list[tuple[str, Any]], value: Any) -> bool:
        # ``path`` is xmltodict's live stack: read it now, it changes after we return.
        if path[0][0] != root:
            raise FatalError(f"{describe(resp)}: expected <{root}>, got <{path[0][0]}>")
        if path[-1][0] == item:
            items.append(value if isinstance(value, dict) else {"#text": value})
        return True

    try:
        xmltodict.parse(content, item_depth=2, item_callback=collect, force_list=set(force_list) or None)
    except ExpatError as exc:
        raise FatalError(f"{describe(resp)} answered malformed XML: {exc}", status_code=resp.status_code) from None
    except ValueError as exc:  # xmltodict refuses entity declarations (billion laughs, external entities)
        raise FatalError(f"{describe(resp)} answered XML we refuse to read: {exc}",
                         status_code=resp.status_code) from None
    found = ROOT_TAG.match(content)
    if found is None or found.group(1).decode() != root:
        got = found.group(1).decode("utf-8", "replace") if found else "no element"
        raise FatalError(f"{describe(resp)}: expected <{root}>, got <{got}>", status_code=resp.status_code)
    return items


def parse_json_list(resp: requests.Response) -> list[dict[str, Any]]:
    """A JSON array of objects (the v2 entity endpoints)."""
    content = check_not_html(resp)
    try:
        data = resp.json() if content.strip() else None
    except ValueError:
        raise FatalError(f"{describe(resp)} answered something that is not JSON: {content[:100]!r}") from None
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise FatalError(f"{describe(resp)}: expected a JSON array of objects, got {type(data).__name__}")
    return data


# --- values ---------------------------------------------------------------------------------------
def text(value: Any) -> str | None:
    """An element's text: None when missing or empty; attributes dropped."""
    if isinstance(value, dict):
        value = value.get("#text")
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def ref(value: Any) -> str | None:
    """A reference in its short form (the id as text) or its long form (an element with ``<id>``)."""
    if isinstance(value, dict) and ("id" in value or "@id" in value):
        return text(value.get("id", value.get("@id")))
    return text(value)


def as_list(value: Any, item: str) -> list[Any]:
    """The ``<item>`` children of a wrapper element that may be empty, hold one, or many."""
    if not isinstance(value, dict):
        return []
    found = value.get(item)
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def flag(value: Any, default: bool = False) -> bool:
    found = text(value)
    return default if found is None else found.lower() == "true"


def first(raw: dict[str, Any], *names: str, read: Callable[[Any], Any] = text) -> Any:
    """The first of several element names present (iiko spells some fields two ways)."""
    for name in names:
        found = read(raw.get(name))
        if found is not None:
            return found
    return None
