"""Batch upsert of mapped records: the one write path every sync and webhook uses.

``upsert_rows`` writes a page of ``RecordRow`` for one integration and model:

1. hash each row's source payload (canonical JSON, sha256);
2. compare the hashes with the stored ones in one query and drop rows whose hash did not change
   (no write, no ``updated_at`` bump) unless the stored record is not clean (soft-deleted, in
   error, or written with an unresolved reference);
3. coerce the remaining rows field by field and resolve their references (one query per reference
   field) - a bad value or a missing required reference fails that row only, into ``errors``;
4. write: on PostgreSQL COPY into a temporary table, then one ``INSERT … SELECT … ON CONFLICT DO
   UPDATE`` (near raw speed, race-safe on the natural key); on SQLite (the embedded default)
   ``bulk_create`` + ``bulk_update`` under SQLite's write lock.

Steps 1 and the coercion of 3 touch no database: ``prepare_rows`` does them ahead (a sync's reader
thread, while the page before is written) and ``upsert_rows`` takes its result as well as rows.

It never commits: it runs inside the caller's transaction (or its own when there is none), so a
sync can commit a page and its checkpoint together. Deletes are soft (``deleted_at``); a record
seen again is revived.

``RecordRow.fields`` is the record as a whole: a field given by any row of a batch is written for
every row of it (rows lacking it get the field's default); fields no row gives are left untouched
on update. References (``refs``) work the same way.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import psycopg
from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone

from integrations.models import Integration

from .coerce import MISSING, Converter, canonical_json, field_converter, missing_value
from .models import PendingReference, SyncedRecord, SyncStatus
from .rows import RecordRow

# Columns the upsert manages itself; everything else concrete is a data field or a reference.
BINDING_FIELDS = frozenset({
    "id", "organization", "integration", "external_id", "source_hash", "payload", "sync_status",
    "sync_error", "last_synced_at", "deleted_at", "created_at", "updated_at",
})
# Rows per query when a list of ids goes into an IN (...) (PostgreSQL takes at most 65,535 params).
CHUNK = 5000
SQLITE_CHUNK = 500
MAX_ERROR_LENGTH = 500


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    # External ids written, split by whether a row existed before (for change events).
    created_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.skipped + self.failed

    def fail(self, external_id: str, error: str) -> None:
        self.failed += 1
        self.errors.append({"external_id": external_id, "error": error[:MAX_ERROR_LENGTH]})

    def merge(self, other: UpsertResult) -> UpsertResult:
        """Add another batch's counts (a sync accumulates its pages)."""
        self.created += other.created
        self.updated += other.updated
        self.skipped += other.skipped
        self.failed += other.failed
        self.errors.extend(other.errors)
        self.created_ids.extend(other.created_ids)
        self.updated_ids.extend(other.updated_ids)
        return self


@dataclass(frozen=True, eq=False)  # hashed by identity: one plan per model
class ModelPlan:
    """What the upsert needs to know about a record model, computed once."""

    model: type[SyncedRecord]
    table: str
    data: tuple[models.Field, ...]
    refs: dict[str, models.ForeignKey]
    converters: dict[str, Converter]
    defaults: dict[str, Any]  # what a field not given stores
    text_limits: dict[str, int | None]  # char/text fields: a plain str within limits is stored as is
    required: frozenset[str]  # fields a row must give

    @property
    def ref_fields(self) -> tuple[models.ForeignKey, ...]:
        return tuple(self.refs.values())


@cache
def plan_for(model: type[SyncedRecord]) -> ModelPlan:
    data, refs = [], {}
    for f in model._meta.concrete_fields:
        if f.name in BINDING_FIELDS:
            continue
        if isinstance(f, models.ForeignKey):
            refs[f.name] = f
        else:
            data.append(f)
    return ModelPlan(
        model=model,
        table=model._meta.db_table,
        data=tuple(data),
        refs=refs,
        converters={f.name: field_converter(f) for f in data},
        defaults={f.name: missing_value(f) for f in data},
        text_limits={f.name: f.max_length for f in data
                     if isinstance(f, models.CharField | models.TextField) and not f.choices},
        required=frozenset(f.name for f in data if missing_value(f) is MISSING),
    )


def resolve_model(model: type[SyncedRecord] | str) -> type[SyncedRecord]:
    resolved = apps.get_model(model) if isinstance(model, str) else model
    if not issubclass(resolved, SyncedRecord):
        raise TypeError(f"{resolved.__name__} is not a synced record model")
    return resolved


def source_hash(row: RecordRow) -> tuple[str | None, str]:
    """(payload JSON to store, sha256 of the payload - or of the fields and references when there is none)."""
    if row.payload is None:
        # A row derived from a part of a source record (a stock level, a product's attribute) stores no
        # copy of it; its references count too (a serial moved to another branch is a change).
        text = canonical_json([row.fields, row.refs] if row.refs else row.fields)
        return None, hashlib.sha256(text.encode()).hexdigest()
    text = canonical_json(row.payload)
    if "\\u0000" in text:
        raise ValueError("payload contains a NUL character")
    hashed = f"{text}\n{row.variant}" if row.variant else text
    return text, hashlib.sha256(hashed.encode()).hexdigest()


@dataclass(slots=True)
class Prepared:
    """A changed row, coerced and resolved, ready to write."""

    external_id: str
    source_hash: str
    payload: str | None
    values: dict[str, Any]  # field name -> stored value (JSON fields as text); refs by attname
    sync_error: str = ""
    error: str = ""  # fails the row
    notes: list[str] = field(default_factory=list)  # kept in sync_error
    deferred: dict[str, str] = field(default_factory=dict)  # self-references to rows of this batch
    pending: dict[str, str] = field(default_factory=dict)  # reference field -> external id not found yet


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- the upsert ------------------------------------------------------------------------------
@dataclass
class PreparedRows:
    """A batch hashed (and coerced) ahead of its write, with no database access.

    A sync reader thread prepares the next page while the runner writes the current one: the
    hashing and coercion then overlap the database's time instead of adding to it.
    """

    model: type[SyncedRecord]
    batch: dict[str, tuple[RecordRow, str | None, str]]  # external_id -> (row, payload JSON, hash)
    coerced: dict[str, dict[str, Any] | str]  # external_id -> stored values, or why the row fails
    failures: list[dict[str, str]]  # rows refused before hashing (no id, bad payload)
    duplicates: int = 0  # rows that a later row of the same id replaced


def prepare_rows(model: type[SyncedRecord] | str, rows: Iterable[RecordRow], *, coerce: bool = True) -> PreparedRows:
    """Hash ``rows`` and (``coerce``) convert their fields; see :class:`PreparedRows`."""
    plan = plan_for(resolve_model(model))
    failed = UpsertResult()
    batch: dict[str, tuple[RecordRow, str | None, str]] = {}
    duplicates = 0
    for row in rows:
        external_id = str(row.external_id or "")
        if not external_id:
            failed.fail("", "external_id is required")
            continue
        if len(external_id) > 255 or "\x00" in external_id:
            failed.fail(external_id[:255], "external_id is longer than 255 characters or holds a NUL")
            continue
        try:
            payload, digest = source_hash(row)
        except (TypeError, ValueError) as exc:
            failed.fail(external_id, f"payload: {exc}")
            continue
        if external_id in batch:
            # The same record twice in one page: the later one wins (ON CONFLICT may touch a row once).
            duplicates += 1
        batch[external_id] = (row, payload, digest)
    coerced: dict[str, dict[str, Any] | str] = {}
    if coerce:
        for external_id, (row, _, _) in batch.items():
            try:
                coerced[external_id] = coerce_fields(plan, row.fields)
            except ValueError as exc:
                coerced[external_id] = str(exc)
    return PreparedRows(plan.model, batch, coerced, failed.errors, duplicates)


def upsert_rows(
    integration: Integration,
    model: type[SyncedRecord] | str,
    rows: Iterable[RecordRow] | PreparedRows,
    *,
    synced_at: datetime | None = None,
    force: bool = False,
) -> UpsertResult:
    """Insert or update ``rows`` of ``model`` for ``integration``; see the module docstring.

    ``rows`` may come prepared (:func:`prepare_rows`). ``force`` rewrites rows even when their hash
    is unchanged (after a mapper change).
    """
    plan = plan_for(resolve_model(model))
    prep = rows if isinstance(rows, PreparedRows) else prepare_rows(plan.model, rows, coerce=False)
    if prep.model is not plan.model:
        raise TypeError(f"rows prepared for {prep.model.__name__}, not {plan.model.__name__}")
    result = UpsertResult(failed=len(prep.failures), errors=list(prep.failures), skipped=prep.duplicates)
    now = timezone.now()
    synced_at = synced_at or now
    batch = prep.batch
    if not batch:
        return result

    backend = BACKENDS.get(connection.vendor, ORM)
    # No savepoint: a caller writing many pages in one transaction would otherwise pile up
    # subtransactions, and past 64 of them PostgreSQL's visibility checks slow down sharply. A
    # batch the database refuses (bad rows fail before that) aborts the caller's transaction.
    with transaction.atomic(savepoint=False):
        digests = {external_id: digest for external_id, (_, _, digest) in batch.items()}
        stored = backend.to_write(plan, integration, digests, force)
        result.skipped += len(batch) - len(stored)
        prepared: list[Prepared] = []
        for external_id in stored:
            row, payload, digest = batch[external_id]
            values = prep.coerced.get(external_id)
            if values is None:
                try:
                    values = coerce_fields(plan, row.fields)
                except ValueError as exc:
                    values = str(exc)
            if isinstance(values, str):
                result.fail(external_id, values)
                continue
            prepared.append(Prepared(external_id, digest, payload, values))
        if not prepared:
            return result

        prepared = resolve_refs(plan, integration, batch, prepared, result)
        if not prepared:
            return result
        data_names: set[str] = set()
        ref_names: set[str] = set()
        for p in prepared:
            row = batch[p.external_id][0]
            data_names.update(row.fields)
            if row.refs:
                ref_names.update(row.refs)
        update = [f for f in plan.data if f.name in data_names]
        update += [f for f in plan.ref_fields if f.name in ref_names]
        created, updated = backend.write(plan, integration, prepared, stored, update, synced_at, now)
        result.created += created
        result.updated += updated
        for p in prepared:
            (result.created_ids if stored.get(p.external_id) is None else result.updated_ids).append(p.external_id)
        fix_deferred_refs(plan, integration, prepared)
        pending_from, pending_to = pending_refs_exist(integration, plan.model)
        track_pending_refs(plan, integration, prepared, stored, forget=pending_from)
        if pending_to:
            resolve_pending_refs(integration, plan.model, [p.external_id for p in prepared])
    return result


def coerce_fields(plan: ModelPlan, fields: dict[str, Any]) -> dict[str, Any]:
    converters, text_limits = plan.converters, plan.text_limits
    values = plan.defaults.copy()
    for name, value in fields.items():
        # Inline fast path for the commonest value: a string that fits (saves two calls per field).
        if type(value) is str and name in text_limits:
            limit = text_limits[name]
            if (limit is None or len(value) <= limit) and "\x00" not in value:
                values[name] = value
                continue
        convert = converters.get(name)
        if convert is None:
            raise ValueError(f"unknown field(s): {', '.join(sorted(fields.keys() - converters.keys()))}")
        try:
            values[name] = convert(value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    if plan.required and not plan.required <= fields.keys():
        raise ValueError(f"{', '.join(sorted(plan.required - fields.keys()))}: is required")
    return values


def resolve_refs(
    plan: ModelPlan,
    integration: Integration,
    batch: dict[str, tuple[RecordRow, str | None, str]],
    prepared: list[Prepared],
    result: UpsertResult,
) -> list[Prepared]:
    """Turn ``refs`` (external ids) into primary keys, one query per reference field."""
    in_batch = {p.external_id for p in prepared}
    known = plan.refs.keys()
    for p in prepared:
        refs = batch[p.external_id][0].refs
        if refs and not refs.keys() <= known:
            p.error = f"unknown reference(s): {', '.join(sorted(refs.keys() - known))}"
    for name, fk in plan.refs.items():
        target = fk.related_model
        # Mappers may hand over numeric ids: external ids are text.
        ref_of = {p.external_id: "" if (ref := batch[p.external_id][0].refs.get(name)) is None else str(ref)
                  for p in prepared}
        wanted = set(ref_of.values()) - {""}
        if not wanted and fk.null:
            continue  # no row links this field: NULL for new rows, untouched on update
        found = dict(lookup_ids(target, integration, list(wanted))) if wanted else {}
        for p in prepared:
            ref = ref_of[p.external_id]
            pk = found.get(ref) if ref else None
            p.values[fk.attname] = pk
            if pk is not None or (not ref and fk.null):
                continue
            if not fk.null:
                p.error = p.error or f"{name}: " + (f"no {target._meta.verbose_name} {ref!r}" if ref else "is required")
            elif target is plan.model and ref in in_batch:
                p.deferred[fk.attname] = ref  # a parent in this same batch: linked once it exists
            else:
                # Written without the link, not clean, and remembered (PendingReference): linked as
                # soon as the referenced record is written, or when a later sync rewrites this row.
                p.notes.append(unresolved_note(name, ref))
                p.pending[name] = ref
    kept = []
    for p in prepared:
        if p.error:
            result.fail(p.external_id, p.error)
        else:
            p.sync_error = "; ".join(p.notes)
            kept.append(p)
    return kept


def lookup_ids(model: type[SyncedRecord], integration: Integration, external_ids: list[str]) -> Iterator[tuple]:
    """(external_id, id) of ``model`` rows of ``integration`` among ``external_ids``."""
    if connection.vendor == "postgresql":
        ids_sql, ids = text_array(external_ids)
        # Index probes per id, as in PostgresBackend.to_write (robust to stale statistics).
        sql = (
            f"SELECT u.ext, r.id FROM unnest({ids_sql}) AS u(ext) CROSS JOIN LATERAL ("  # noqa: S608
            f"SELECT id FROM {qn(model._meta.db_table)}"
            f" WHERE integration_id = %s AND external_id = u.ext AND external_id <> '' LIMIT 1) AS r"
        )
        with raw_cursor() as cur:
            cur.execute(sql, (ids, integration.pk))
            yield from cur.fetchall()
        return
    for part in chunks(external_ids, SQLITE_CHUNK):
        yield from model.objects.filter(integration=integration, external_id__in=part).exclude(
            external_id=""
        ).values_list("external_id", "id")


def fix_deferred_refs(plan: ModelPlan, integration: Integration, prepared: list[Prepared]) -> None:
    """Link rows to parents written in the same batch (category trees, location hierarchies)."""
    deferred = [p for p in prepared if p.deferred]
    if not deferred:
        return
    involved = {p.external_id for p in deferred} | {ref for p in deferred for ref in p.deferred.values()}
    pks = dict(lookup_ids(plan.model, integration, list(involved)))
    changed, attnames = [], set()
    for p in deferred:
        obj = plan.model(pk=pks[p.external_id])
        for attname, ref in p.deferred.items():
            setattr(obj, attname, pks.get(ref))
            attnames.add(attname)
        changed.append(obj)
    plan.model.objects.bulk_update(changed, sorted(attnames), batch_size=SQLITE_CHUNK)


# --- references written unresolved ----------------------------------------------------------
def unresolved_note(name: str, ref: str) -> str:
    return f"unresolved reference {name}={ref!r}"


def pending_refs_exist(integration: Integration, model: type[SyncedRecord]) -> tuple[bool, bool]:
    """(rows of ``model`` wait for a reference, rows wait for a ``model`` row): one statement, two probes."""
    label = model._meta.label
    mine = PendingReference.objects.filter(integration=integration)
    # The integration's row is only an anchor for the two EXISTS.
    row = Integration.objects.filter(pk=integration.pk).annotate(
        source=models.Exists(mine.filter(model=label)), target=models.Exists(mine.filter(target_model=label)),
    ).values_list("source", "target").first()
    return (bool(row[0]), bool(row[1])) if row else (False, False)


def track_pending_refs(plan: ModelPlan, integration: Integration, prepared: list[Prepared], stored: ToWrite,
                       *, forget: bool = True) -> None:
    """Remember the references these rows were written without; forget those of rows rewritten since.

    ``forget`` False: no row of this model has an entry (nothing to forget, no query).
    """
    label = plan.model._meta.label
    # Only rows that existed before can have entries (a first import skips the query).
    rewritten = [p.external_id for p in prepared if forget and stored.get(p.external_id) is not None]
    for part in chunks(rewritten, CHUNK if connection.vendor == "postgresql" else SQLITE_CHUNK):
        PendingReference.objects.filter(integration=integration, model=label, record_external_id__in=part).delete()
    new = [
        PendingReference(integration=integration, model=label, record_external_id=p.external_id, field=name,
                         target_model=plan.refs[name].related_model._meta.label, target_external_id=ref)
        for p in prepared for name, ref in p.pending.items()
    ]
    if new:
        PendingReference.objects.bulk_create(new, batch_size=SQLITE_CHUNK, ignore_conflicts=True)


def resolve_pending_refs(
    integration: Integration, model: type[SyncedRecord] | str, external_ids: Iterable[str] | None = None
) -> int:
    """Link records that were written without a reference to ``model`` rows now present.

    ``external_ids`` limits the look-up to those just written (each page calls this); None checks
    every pending reference to ``model`` (after a job of that model). Returns how many were linked.
    A record's ``sync_error`` keeps only the references still unresolved (empty: clean again).
    """
    model = resolve_model(model)
    pending_qs = PendingReference.objects.filter(integration=integration, target_model=model._meta.label)
    fields = ("id", "model", "record_external_id", "field", "target_external_id")
    if external_ids is None:
        pending = list(pending_qs.values_list(*fields))
    else:
        pending = []
        ids = list(dict.fromkeys(external_ids))
        for part in chunks(ids, CHUNK if connection.vendor == "postgresql" else SQLITE_CHUNK):
            pending += pending_qs.filter(target_external_id__in=part).values_list(*fields)
    if not pending:
        return 0
    targets = dict(lookup_ids(model, integration, list({row[4] for row in pending})))
    resolved = [row for row in pending if row[4] in targets]
    groups: dict[tuple[str, str], list[tuple]] = {}
    for row in resolved:
        groups.setdefault((row[1], row[3]), []).append(row)
    now = timezone.now()
    for (label, name), rows in groups.items():
        referencing = resolve_model(label)
        attname = referencing._meta.get_field(name).attname
        pks = dict(lookup_ids(referencing, integration, [row[2] for row in rows]))
        objs = []
        for _, _, record, _, target in rows:
            if record in pks:
                obj = referencing(pk=pks[record], updated_at=now)
                setattr(obj, attname, targets[target])
                objs.append(obj)
        referencing.objects.bulk_update(objs, [attname, "updated_at"], batch_size=SQLITE_CHUNK)
    done = [row[0] for row in resolved]
    for part in chunks(done, SQLITE_CHUNK):
        PendingReference.objects.filter(pk__in=part).delete()
    for label in {row[1] for row in resolved}:
        _refresh_sync_errors(integration, resolve_model(label), {row[2] for row in resolved if row[1] == label})
    return len(resolved)


def _refresh_sync_errors(integration: Integration, model: type[SyncedRecord], external_ids: set[str]) -> None:
    """``sync_error`` of these records from the references still pending for them ("" when none)."""
    remaining: dict[str, list[str]] = {}
    for part in chunks(sorted(external_ids), SQLITE_CHUNK):
        for record, name, ref in PendingReference.objects.filter(
            integration=integration, model=model._meta.label, record_external_id__in=part
        ).order_by("field").values_list("record_external_id", "field", "target_external_id"):
            remaining.setdefault(record, []).append(unresolved_note(name, ref))
    by_error: dict[str, list[str]] = {}
    for record in external_ids:
        by_error.setdefault("; ".join(remaining.get(record, [])), []).append(record)
    for error, records in by_error.items():
        for part in chunks(records, SQLITE_CHUNK):
            model.objects.filter(integration=integration, external_id__in=part).update(sync_error=error)


# --- backends --------------------------------------------------------------------------------
# external_id -> stored id (None: new) of the rows to write: new, changed, or not clean (deleted,
# error, unresolved reference). Rows not in it are unchanged and skipped.
ToWrite = dict[str, int | None]
CLEAN = {"deleted_at": None, "sync_status": SyncStatus.SYNCED, "sync_error": ""}


class PostgresBackend:
    """COPY into a temporary table, then one INSERT … ON CONFLICT DO UPDATE."""

    def to_write(self, plan: ModelPlan, integration: Integration, digests: dict[str, str], force: bool) -> ToWrite:
        # Hashes are compared in the database, so an unchanged page sends back nothing. One index
        # probe per id (LATERAL … LIMIT 1): with "external_id = ANY(...)" the planner picks a
        # sequential scan while a first import grows a table its statistics still think empty.
        ids_sql, ids = text_array(list(digests))
        hashes_sql, hashes = text_array(list(digests.values()))
        sql = (
            f"SELECT u.ext, r.id FROM unnest({ids_sql}, {hashes_sql}) AS u(ext, hash)"  # noqa: S608
            f" LEFT JOIN LATERAL (SELECT id, source_hash, deleted_at, sync_status, sync_error"
            f" FROM {qn(plan.table)} WHERE integration_id = %s AND external_id = u.ext AND external_id <> ''"
            f" LIMIT 1) AS r ON true"
            f" WHERE %s OR r.id IS NULL OR r.source_hash <> u.hash OR r.deleted_at IS NOT NULL"
            f" OR r.sync_status <> 'synced' OR r.sync_error <> ''"
        )
        with raw_cursor() as cur:
            cur.execute(sql, (ids, hashes, integration.pk, force))
            return dict(cur.fetchall())

    def write(self, plan, integration, prepared, stored, update, synced_at, now) -> tuple[int, int]:
        temp, ddl, copy_sql, insert_head = self.statements(plan)
        assignments = [
            f"{c} = EXCLUDED.{c}" for c in
            ["source_hash", "payload", "sync_status", "sync_error", "last_synced_at", "deleted_at", "updated_at"]
            + [qn(f.column) for f in update]
        ]
        upsert = (
            f"WITH up AS ({insert_head}"  # noqa: S608 - identifiers from model metadata, quoted
            f" ON CONFLICT (integration_id, external_id) WHERE external_id <> ''"
            f" DO UPDATE SET {', '.join(assignments)}"
            f" RETURNING xmax = 0 AS inserted)"
            f" SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
        )
        data_of = tuple_getter([f.name for f in plan.data])
        attnames = [f.attname for f in plan.ref_fields]
        with raw_cursor() as cur:
            # The staging table lives as long as the database session (no ON COMMIT DROP): creating
            # it per page costs more than the COPY of a small page. Its name carries the column layout,
            # so a session that outlives a migration never copies into a stale shape.
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ({ddl})")
            cur.execute(f"TRUNCATE {temp}")
            with cur.copy(copy_sql) as copy:
                for p in prepared:
                    values = p.values
                    copy.write_row((p.external_id, p.source_hash, p.payload, p.sync_error, *data_of(values),
                                    *[values.get(a) for a in attnames]))
            cur.execute(upsert, (integration.organization_id, integration.pk, SyncStatus.SYNCED.value,
                                 synced_at, now, now))
            created, updated = cur.fetchone()
        return created, updated

    @staticmethod
    @cache
    def statements(plan: ModelPlan) -> tuple[str, str, str, str]:
        """(staging table, its columns, the COPY, the INSERT … SELECT up to ON CONFLICT) for a model."""
        copy_cols = ["external_id", "source_hash", "payload", "sync_error",
                     *[f.column for f in plan.data], *[f.column for f in plan.ref_fields]]
        ddl = ", ".join(
            ["external_id text", "source_hash text", "payload jsonb", "sync_error text"]
            + [f"{qn(f.column)} {f.db_type(connection)}" for f in plan.data]
            + [f"{qn(f.column)} bigint" for f in plan.ref_fields]
        )
        temp = qn(f"_upsert_{plan.table}_{hashlib.sha256(ddl.encode()).hexdigest()[:8]}")
        copy_sql = f"COPY {temp} ({', '.join(map(qn, copy_cols))}) FROM STDIN"
        insert_cols = ["organization_id", "integration_id", "sync_status", "last_synced_at", "deleted_at",
                       "created_at", "updated_at", *copy_cols]
        stamps = "%s::bigint, %s::bigint, %s::text, %s::timestamptz, NULL, %s::timestamptz, %s::timestamptz"
        insert_head = (
            f"INSERT INTO {qn(plan.table)} ({', '.join(map(qn, insert_cols))})"  # noqa: S608
            # One lock order for every writer: two syncs upserting the same new rows in different
            # orders would otherwise deadlock on each other's uncommitted keys.
            f" SELECT {stamps}, {', '.join(map(qn, copy_cols))} FROM {temp} ORDER BY external_id"
        )
        return temp, ddl, copy_sql, insert_head


class OrmBackend:
    """The embedded default (SQLite): ORM bulk writes; SQLite's write lock (BEGIN IMMEDIATE) makes it race-free."""

    def to_write(self, plan: ModelPlan, integration: Integration, digests: dict[str, str], force: bool) -> ToWrite:
        found: dict[str, tuple] = {}
        for part in chunks(list(digests), SQLITE_CHUNK):
            found.update(
                (ext, rest) for ext, *rest in plan.model.objects.filter(
                    integration=integration, external_id__in=part
                ).values_list("external_id", "id", "source_hash", *CLEAN)
            )
        clean = tuple(CLEAN.values())
        out: ToWrite = {}
        for ext, digest in digests.items():
            row = found.get(ext)
            if row is None:
                out[ext] = None
            elif force or row[1] != digest or tuple(row[2:]) != clean:
                out[ext] = row[0]
        return out

    def write(self, plan, integration, prepared, stored, update, synced_at, now) -> tuple[int, int]:
        json_names = {f.name for f in plan.data if f.get_internal_type() == "JSONField"}
        new, old = [], []
        for p in prepared:
            values = {k: json.loads(v) if k in json_names and v is not None else v for k, v in p.values.items()}
            obj = plan.model(
                organization_id=integration.organization_id, integration_id=integration.pk,
                external_id=p.external_id, source_hash=p.source_hash,
                payload=None if p.payload is None else json.loads(p.payload),
                sync_status=SyncStatus.SYNCED, sync_error=p.sync_error, last_synced_at=synced_at,
                deleted_at=None, updated_at=now, **values,
            )
            pk = stored.get(p.external_id)
            if pk is None:
                new.append(obj)
            else:
                obj.pk = pk
                old.append(obj)
        plan.model.objects.bulk_create(new, batch_size=SQLITE_CHUNK)
        fields = ["source_hash", "payload", "sync_status", "sync_error", "last_synced_at", "deleted_at",
                  "updated_at", *[f.name for f in update]]
        plan.model.objects.bulk_update(old, fields, batch_size=SQLITE_CHUNK // 4)
        return len(new), len(old)


ORM = OrmBackend()
# By connection.vendor; any other database gets the ORM path.
BACKENDS: dict[str, PostgresBackend | OrmBackend] = {"postgresql": PostgresBackend()}


def tuple_getter(keys: list[str]):
    """``itemgetter`` that always returns a tuple (itemgetter of one key returns the bare value)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda d: (d[key],)
    return operator.itemgetter(*keys) if keys else lambda d: ()


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


SEPARATOR = "\x1f"  # ASCII unit separator


def text_array(values: list[str]) -> tuple[str, str | list[str]]:
    """(SQL, parameter) for a text[] parameter.

    psycopg dumps a list element by element in Python (~3 µs each, more than the query costs);
    one joined string split by the server costs a tenth of that. Values holding the separator
    fall back to a plain array.
    """
    joined = SEPARATOR.join(values)
    if joined.count(SEPARATOR) == len(values) - 1 and values:
        return "string_to_array(%s, chr(31))", joined
    return "%s::text[]", values


def raw_cursor() -> psycopg.Cursor:
    """A cursor on the psycopg connection under Django's (same transaction), for COPY and arrays.

    Server-side binding: Django's cursors bind client-side, quoting every array element in Python.
    """
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


# --- deletes ---------------------------------------------------------------------------------
def _soft_delete(model: type[SyncedRecord], pks: list[int], when: datetime) -> int:
    count = 0
    for part in chunks(pks, CHUNK if connection.vendor == "postgresql" else SQLITE_CHUNK):
        count += model.objects.filter(pk__in=part, deleted_at__isnull=True).update(
            deleted_at=when, sync_status=SyncStatus.DELETED, updated_at=when
        )
    return count


def mark_deleted(integration: Integration, model: type[SyncedRecord] | str, external_ids: Iterable[str]) -> int:
    """Soft-delete the records the provider reported deleted; returns how many were live."""
    model = resolve_model(model)
    wanted = [e for e in dict.fromkeys(str(e) for e in external_ids) if e]
    pks = [pk for _, pk in lookup_ids(model, integration, wanted)]
    return _soft_delete(model, pks, timezone.now())


def mark_missing_deleted(
    integration: Integration,
    model: type[SyncedRecord] | str,
    seen_external_ids: Iterable[str],
    started_at: datetime,
    scope: dict[str, Any] | None = None,
) -> int:
    """Full-scan diff: soft-delete live records of ``integration`` not seen in a full run.

    Records synced since ``started_at`` (e.g. by a webhook during the run) are kept. ``scope``
    (filter keywords) limits the diff to the rows the stream owns, in a table several streams write
    (sales orders beside purchase orders).
    """
    model = resolve_model(model)
    seen = {str(e) for e in seen_external_ids}
    live = (
        model.objects.filter(integration=integration, deleted_at__isnull=True, **(scope or {}))
        .exclude(external_id="")
        .filter(models.Q(last_synced_at__lt=started_at) | models.Q(last_synced_at__isnull=True))
        .values_list("id", "external_id")
    )
    missing = [pk for pk, ext in live.iterator(chunk_size=CHUNK) if ext not in seen]
    return _soft_delete(model, missing, timezone.now())


# --- child rows (order and invoice lines) ----------------------------------------------------
def child_rows(parent_ref: str, parent_external_id: str, children: Iterable[RecordRow]) -> list[RecordRow]:
    """Bind lines to their document: external id ``<parent>/<line>`` and the parent reference set.

    Lines rarely have ids of their own that are unique across documents; prefixing keeps the
    ``(integration, external_id)`` key unique. Upsert the parents' batch first.
    """
    return [
        RecordRow(
            external_id=f"{parent_external_id}/{child.external_id}",
            fields=child.fields,
            refs={**child.refs, parent_ref: parent_external_id},
            payload=child.payload,
        )
        for child in children
    ]


def mark_missing_children(
    integration: Integration,
    model: type[SyncedRecord] | str,
    parent_ref: str,
    parent_external_ids: Iterable[str],
    seen_external_ids: Iterable[str],
) -> int:
    """Soft-delete lines of these documents that their latest version no longer has."""
    model = resolve_model(model)
    parents = [e for e in dict.fromkeys(parent_external_ids) if e]
    seen = set(seen_external_ids)
    missing = []
    for part in chunks(parents, SQLITE_CHUNK):
        rows = model.objects.filter(
            integration=integration, deleted_at__isnull=True, **{f"{parent_ref}__external_id__in": part}
        ).values_list("id", "external_id")
        missing += [pk for pk, ext in rows if ext not in seen]
    return _soft_delete(model, missing, timezone.now())
