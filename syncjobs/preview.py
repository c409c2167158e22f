"""Preview one page of a stream: the records a sync would create, update or delete, writing nothing.

The page is fetched through the connector (real HTTP, logged like every call), mapped by the stream
and then by the field mapping (the one given, else the stored one), hashed and coerced exactly as the
runner's write would, and compared with the stored records by external id and content hash. Nothing
is written: no record, no cursor, no job (only the call log of the request, and a renewed provider
token, as any call would).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connectors.base import SyncContext
from connectors.errors import ConnectorError
from connectors.mapping import MappedStream, mapped_stream, validate_mapping
from connectors.registry import get_connector_class
from integrations.models import Integration
from records.upsert import plan_for, prepare_rows, resolve_model

from .prefetch import map_records

log = logging.getLogger("syncjobs")

MAX_ERROR_LENGTH = 500


class PreviewError(ValueError):
    """A preview that cannot be asked for (unknown stream): the caller's mistake, a 400."""


@dataclass
class Preview:
    stream: str
    model: str
    create: list[dict[str, Any]] = field(default_factory=list)  # {"external_id", "fields", "refs", "warnings"}
    update: list[dict[str, Any]] = field(default_factory=list)  # {"external_id", "changes": {f: [old, new]}}
    unchanged: int = 0
    delete: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"external_id", "message"}

    def as_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "model": self.model, "create": self.create, "update": self.update,
                "unchanged": self.unchanged, "delete": self.delete, "errors": self.errors}


def plain(value: Any) -> Any:
    """JSON for what a mapped or stored value may be (money as text keeps its precision)."""
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, Decimal) and isinstance(new, Decimal):
        return old == new
    return plain(old) == plain(new)


def preview_stream(integration: Integration, stream_name: str, mapping: list[dict] | None = None) -> Preview:
    """Fetch one page of ``stream_name``, map it (with ``mapping`` if given, else the stored field
    mapping) and compare it with the stored records; write nothing.

    Raises PreviewError for an unknown stream and ``MappingConfigError`` for an invalid ``mapping``;
    a provider's error (refused credentials, a 5xx, an answer we cannot read) is the preview's error.
    """
    cls = get_connector_class(integration.provider)
    streams = cls.streams_for(integration)
    if stream_name not in streams:
        raise PreviewError(f"unknown stream {stream_name!r}; available: {', '.join(streams) or 'none'}")
    base = streams[stream_name]
    preview = Preview(stream=stream_name, model=base.model)
    try:
        if mapping is not None:
            entries = validate_mapping(base.model, mapping)
            stream = MappedStream(base, entries) if entries else base
        else:
            stream = mapped_stream(base, integration.config)
        connector = cls(integration)
        try:
            pages = stream.read(SyncContext(integration, connector, connector.http), None, True)
            try:
                page = next(iter(pages), None)
            finally:
                close = getattr(pages, "close", None)
                if close is not None:
                    close()  # a generator's clean-up runs now, not at garbage collection
        finally:
            connector.http.flush_logs()
            connector.http.release()
    except ConnectorError as exc:
        preview.errors.append({"external_id": "", "message": f"{exc.kind}: {exc.message}"[:MAX_ERROR_LENGTH]})
        return preview
    if page is None:
        return preview
    _compare(integration, stream, page, preview)
    return preview


def _compare(integration: Integration, stream: Any, page: Any, preview: Preview) -> None:
    model = resolve_model(stream.model)
    rows, map_errors = map_records(stream, page.records)
    preview.errors += [{"external_id": e["external_id"], "message": e["error"][:MAX_ERROR_LENGTH]} for e in map_errors]
    prep = prepare_rows(model, rows)
    preview.errors += [{"external_id": e["external_id"], "message": e["error"]} for e in prep.failures]
    plan = plan_for(model)
    data_names = {f.name for f in plan.data}
    json_names = {f.name for f in plan.data if f.get_internal_type() == "JSONField"}
    named = {name for row, _, _ in prep.batch.values() for name in row.fields if name in data_names}
    # The referenced records' external ids, to show a reference's change by the id the source gives.
    related = [f"{name}__external_id" for name in {n for row, _, _ in prep.batch.values() for n in row.refs}
               if name in plan.refs]
    stored: dict[str, Any] = {}
    if prep.batch:
        for obj in model.objects.filter(integration=integration, external_id__in=list(prep.batch)).values(
                "external_id", "source_hash", "deleted_at", *sorted(named), *related):
            stored[obj["external_id"]] = obj
    for external_id, (row, _payload, digest) in prep.batch.items():
        values = prep.coerced.get(external_id)
        if isinstance(values, str):
            preview.errors.append({"external_id": external_id, "message": values[:MAX_ERROR_LENGTH]})
            continue
        # The write stores JSON fields as text: compare and show them as the objects they are.
        values = {k: json.loads(v) if k in json_names and isinstance(v, str) else v for k, v in values.items()}
        old = stored.get(external_id)
        if old is None:
            preview.create.append({"external_id": external_id,
                                   "fields": {name: plain(values[name]) for name in row.fields if name in values},
                                   "refs": dict(row.refs), "warnings": list(row.warnings)})
            continue
        if old["source_hash"] == digest and old["deleted_at"] is None:
            preview.unchanged += 1
            continue
        changes = {name: [plain(old.get(name)), plain(values[name])] for name in row.fields
                   if name in values and not _same(old.get(name), values[name])}
        for name, ref in row.refs.items():
            before = old.get(f"{name}__external_id")
            if (before or None) != (ref or None):
                changes[name] = [before, ref]
        if old["deleted_at"] is not None:
            changes["deleted_at"] = [plain(old["deleted_at"]), None]
        preview.update.append({"external_id": external_id, "changes": changes})
    if page.deleted_ids:
        live = model.objects.filter(integration=integration, deleted_at__isnull=True,
                                    external_id__in=[str(i) for i in page.deleted_ids])
        preview.delete = sorted(live.values_list("external_id", flat=True))
