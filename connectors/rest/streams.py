"""Streams built from an integration's config: one list endpoint each, read page by page.

A page is one request. Its records are at ``records_path`` in the answer; the next request comes from
the pagination style (page number, offset/limit, a cursor from the body, the Link header's ``next``).
An incremental stream sends ``incremental.param`` = the largest ``incremental.field`` the last
complete run saw; inclusive APIs re-send that record, which the hash then skips.

Checkpoints: a page mid-run is checkpointed as ``{"since", "max", "resume": <the next request's
position>}``, so a run that dies resumes with the next request under the same ``since`` (the API may
not return records in the field's order, so the new ``since`` only takes effect once a run has read
every page); the last page's cursor is ``{"since": <largest value seen>}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from connectors.base import Page, RecordRow, Stream, SyncContext
from connectors.errors import FatalError, MappingError
from connectors.mapping import get_path

MAX_CURSOR_LENGTH = 4000


def _later(a: Any, b: Any) -> Any:
    """The larger of two cursor values (numbers as numbers, anything else as text); None loses."""
    if a is None:
        return b
    if b is None:
        return a
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
    if numbers:
        return max(a, b)
    return a if str(a) >= str(b) else b


class RestStream(Stream):
    prefetch = True  # the provider's latency overlaps the database's time

    def __init__(self, spec: dict[str, Any], *, shares_model: bool = False):
        self.spec = spec
        self.name = spec["name"]
        self.model = spec["model"]
        self.path = spec["path"]
        self.records_path = spec.get("records_path") or ""
        self.id_path = spec.get("id_path") or "id"
        self.params = dict(spec.get("params") or {})
        self.pagination = spec.get("pagination") or {"style": "none"}
        self.incremental = spec.get("incremental") or None
        self.depends_on = tuple(spec.get("depends_on") or ())
        self.supports_incremental = bool(self.incremental)
        # A full read sees every record, so the ones it no longer lists were deleted, unless another
        # stream of this integration writes the same table (its rows are not ours to diff).
        self.delete_strategy = "none" if shares_model else "full_scan"

    def wants_prefetch(self, ctx: SyncContext) -> bool:
        return bool(ctx.config.get("prefetch", True))

    # --- mapping --------------------------------------------------------------------------------------
    def map(self, raw: dict[str, Any]) -> RecordRow:
        """The record's id and payload; its fields come from the stream's field mapping (the runner's)."""
        if not isinstance(raw, dict):
            raise MappingError(f"a record is not an object but {type(raw).__name__}")
        external_id = get_path(raw, self.id_path)
        if external_id is None or external_id == "" or isinstance(external_id, dict | list | bool):
            raise MappingError(f"the record has no id at {self.id_path!r}")
        return RecordRow(external_id=str(external_id), fields={}, payload=raw)

    # --- reading ---------------------------------------------------------------------------------------
    def read(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        start = {} if full or not isinstance(cursor, dict) else cursor
        since = start.get("since") if self.incremental else None
        newest = start.get("max", since)
        position = start.get("resume") or self._first_position()
        connector = ctx.connector
        size = self.pagination.get("size", 100)
        while True:
            resp = self._get(ctx, position, since, size, connector)
            body = self._json(resp)
            records = self._records(body)
            if self.incremental:
                for raw in records:
                    if isinstance(raw, dict):
                        newest = _later(newest, get_path(raw, self.incremental["field"]))
            following = self._next_position(position, records, body, resp, size)
            if following is None:
                final = {"since": newest} if self.incremental else {}
                yield Page(records=records, cursor=final)
                return
            yield Page(records=records, cursor={"since": since, "max": newest, "resume": following})
            position = following

    def _first_position(self) -> dict[str, Any]:
        style = self.pagination.get("style", "none")
        if style == "page":
            return {"page": self.pagination.get("first_page", 1)}
        if style == "offset":
            return {"offset": 0}
        return {}

    def _get(self, ctx: SyncContext, position: dict[str, Any], since: Any, size: int,
             connector: Any) -> requests.Response:
        style = self.pagination.get("style", "none")
        auth_params = connector.auth_params()
        action = f"rest.{self.name}.list"
        if position.get("url"):  # the Link header's next: its query says everything
            return ctx.http.request("GET", position["url"], action=action, params=auth_params or None)
        params: dict[str, Any] = dict(self.params)
        if self.incremental and since is not None:
            params[self.incremental["param"]] = since
        size_param = self.pagination.get("size_param")
        if style == "page":
            params[self.pagination["page_param"]] = position["page"]
            if size_param:
                params[size_param] = size
        elif style == "offset":
            params[self.pagination["offset_param"]] = position["offset"]
            params[self.pagination["limit_param"]] = size
        elif style == "cursor":
            if size_param:
                params[size_param] = size
            if position.get("cursor") is not None:
                params[self.pagination["cursor_param"]] = position["cursor"]
        elif style == "link" and size_param:
            params[size_param] = size
        return ctx.http.request("GET", self.path, action=action, params={**params, **auth_params})

    def _where(self, resp: requests.Response) -> str:
        return f"GET {urlsplit(resp.url).path}"

    def _json(self, resp: requests.Response) -> Any:
        try:
            return resp.json()
        except ValueError as exc:
            raise FatalError(f"{self._where(resp)} answered {resp.status_code} with a body that is not JSON "
                             f"({exc}); nothing of this page was written", status_code=resp.status_code) from None

    def _records(self, body: Any) -> list[Any]:
        records = get_path(body, self.records_path) if self.records_path else body
        if records is None and self.records_path:
            keys = ", ".join(map(str, list(body)[:10])) if isinstance(body, dict) else type(body).__name__
            raise FatalError(f"stream {self.name!r}: the answer has no records at {self.records_path!r} "
                             f"(it has: {keys or 'nothing'}); nothing of this page was written")
        if not isinstance(records, list):
            raise FatalError(f"stream {self.name!r}: the records at {self.records_path or 'the top level'!r} are "
                             f"{type(records).__name__}, not a list; nothing of this page was written")
        return records

    def _next_position(self, position: dict[str, Any], records: list[Any], body: Any,
                       resp: requests.Response, size: int) -> dict[str, Any] | None:
        """The next request's position, or None when this page was the last."""
        style = self.pagination.get("style", "none")
        if style == "page":
            return {"page": position["page"] + 1} if len(records) >= size else None
        if style == "offset":
            return {"offset": position["offset"] + len(records)} if len(records) >= size else None
        if style == "cursor":
            token = get_path(body, self.pagination["cursor_path"])
            if token in (None, "", False) or not records:
                return None
            if isinstance(token, dict | list) or len(str(token)) > MAX_CURSOR_LENGTH:
                raise FatalError(f"stream {self.name!r}: the cursor at {self.pagination['cursor_path']!r} is not "
                                 f"a short text or number")
            if token == position.get("cursor"):
                raise FatalError(f"stream {self.name!r}: the API answered the same cursor again; stopped "
                                 "rather than read the same page forever")
            return {"cursor": token}
        if style == "link":
            target = (resp.links.get("next") or {}).get("url")
            if not target or not records:
                return None
            url = urljoin(resp.url, target)
            if urlsplit(url)[:2] != urlsplit(resp.url)[:2]:
                # The credentials go to the configured host only.
                raise FatalError(f"stream {self.name!r}: the Link header's next page is on another host "
                                 f"({urlsplit(url).netloc}); not followed")
            if url == position.get("url"):
                raise FatalError(f"stream {self.name!r}: the Link header points at the same page again")
            return {"url": url}
        return None


def build_streams(config: dict[str, Any]) -> dict[str, Stream]:
    """The streams of a (validated) config; a malformed entry is left out, never raised."""
    specs = [s for s in (config or {}).get("streams") or [] if isinstance(s, dict) and s.get("name")
             and s.get("path") and s.get("model")]
    models = [s["model"] for s in specs]
    out: dict[str, Stream] = {}
    for spec in specs:
        try:
            out[str(spec["name"])] = RestStream(spec, shares_model=models.count(spec["model"]) > 1)
        except (KeyError, TypeError, AttributeError):
            continue
    return out
