"""Read and prepare a stream's next page in a thread while the runner writes the current one.

Preparing a page (mapping its records, hashing and coercing the rows) touches no database, so a
reader thread can do it, and fetch the page after it, while the runner's thread waits for
PostgreSQL on the page before: the provider's latency and our Python work overlap the database's
time instead of adding to it. It is the runner's policy: a stream opts in (``Stream.prefetch`` /
``wants_prefetch``) and the runner wraps its pages in ``prefetched``; any page the runner gets
unprepared is prepared on its own thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connections

from connectors.base import Page, RecordRow, Stream
from records.upsert import PreparedRows, prepare_rows


@dataclass
class PreparedPage:
    rows: PreparedRows | None  # the stream's own records
    errors: list[dict[str, Any]]  # records that failed to map: {"external_id", "error"} (the runner trims)
    extra: dict[str, PreparedRows] = field(default_factory=dict)  # by model label, as in Page.extra
    warnings: list[dict[str, Any]] = field(default_factory=list)  # written records' {"external_id", "warning"}


def map_records(stream: Stream, records: list[Any]) -> tuple[list[RecordRow], list[dict[str, Any]]]:
    rows, errors = [], []
    for raw in records:
        try:
            rows.append(stream.map(raw))
        except Exception as exc:  # noqa: BLE001 - MappingError or any bad value: that record fails alone
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            errors.append({"external_id": str(raw_id or ""), "error": f"{type(exc).__name__}: {exc}"})
    return rows, errors


def prepare_page(stream: Stream, page: Page) -> PreparedPage:
    rows, errors = map_records(stream, page.records)
    return PreparedPage(
        rows=prepare_rows(stream.model, rows) if rows else None,
        errors=errors,
        extra={model: prepare_rows(model, extra) for model, extra in page.extra.items() if extra},
        warnings=[{"external_id": row.external_id, "warning": w} for row in rows for w in row.warnings],
    )


def prefetched(stream: Stream, pages: Iterator[Page]) -> Iterator[Page]:
    """Yield ``pages``, prepared, while a thread reads and prepares the next; its errors are raised here, in order."""
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                page.prepared = prepare_page(stream, page)
                if not put(("page", page)):
                    return
            put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            put(("error", exc))
        finally:
            connections.close_all()  # this thread's own connections (its request logs)

    reader = threading.Thread(target=produce, name=f"{stream.name}-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "error":
                raise value
            if kind == "done":
                return
            yield value
    finally:
        stop.set()  # the consumer stopped (done, cancelled, failed): the reader ends at its next page
