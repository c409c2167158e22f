"""Re-encrypt every encrypted column under the newest key (``manage.py rotate_encryption_key``).

Raw tokens are read and written with SQL, batch by batch in primary-key order, so models are never
loaded (and no value is decrypted except the one being moved). Each UPDATE is conditional on the
token still being the one read: a value a request changed meanwhile is already under the new key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, models, transaction

from .crypto import DecryptionError, key_id_of, key_ring
from .fields import _EncryptedField
from .models import CredentialAudit, Integration

EMPTY = "(empty)"
INVALID = "(not encrypted)"


@dataclass
class ColumnReport:
    label: str
    model: type[models.Model]
    column: str
    by_key: Counter = field(default_factory=Counter)
    rotated: int = 0
    rotated_pks: list = field(default_factory=list)
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def encrypted_columns() -> Iterator[tuple[type[models.Model], _EncryptedField]]:
    """Every concrete encrypted field of every installed model, whatever its app."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for model_field in model._meta.local_concrete_fields:
            if isinstance(model_field, _EncryptedField):
                yield model, model_field


def _key_label(token: str | None) -> str:
    if not token:
        return EMPTY
    try:
        return key_id_of(token)
    except DecryptionError:
        return INVALID


def _batches(model: type[models.Model], column: str, size: int) -> Iterator[list[tuple]]:
    """(pk, raw token) rows in pages, keyset-paginated on the primary key."""
    qn = connection.ops.quote_name
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    first = f"SELECT {pk}, {qn(column)} FROM {table} ORDER BY {pk} LIMIT %s"  # noqa: S608
    after = f"SELECT {pk}, {qn(column)} FROM {table} WHERE {pk} > %s ORDER BY {pk} LIMIT %s"  # noqa: S608
    sql, params = first, [size]
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        sql, params = after, [rows[-1][0], size]


def rotate_column(
    model: type[models.Model], model_field: _EncryptedField, *, check: bool, batch_size: int = 500
) -> ColumnReport:
    qn = connection.ops.quote_name
    report = ColumnReport(f"{model._meta.db_table}.{model_field.column}", model, model_field.column)
    primary = key_ring().primary_id
    update = (
        f"UPDATE {qn(model._meta.db_table)} SET {qn(model_field.column)} = %s "  # noqa: S608
        f"WHERE {qn(model._meta.pk.column)} = %s AND {qn(model_field.column)} = %s"
    )
    for rows in _batches(model, model_field.column, batch_size):
        changes = []
        for pk, token in rows:
            label = _key_label(token)
            report.by_key[label] += 1
            if check or label in (EMPTY, INVALID, primary):
                continue
            try:
                changes.append((model_field.encrypt_existing(token), pk, token))
            except DecryptionError as exc:
                report.failed += 1
                report.errors.append(f"pk {pk}: {exc}")
        if changes:
            with transaction.atomic(), connection.cursor() as cursor:
                for params in changes:
                    cursor.execute(update, params)
                    if cursor.rowcount:
                        report.rotated += 1
                        report.rotated_pks.append(params[1])
    return report


def rotate_all(*, check: bool = False, batch_size: int = 500) -> list[ColumnReport]:
    reports = [rotate_column(m, f, check=check, batch_size=batch_size) for m, f in encrypted_columns()]
    audit_rotation(reports)
    return reports


def audit_rotation(reports: list[ColumnReport]) -> None:
    """One "rotated" credential audit per integration whose secrets were re-encrypted (no values)."""
    columns_by_pk: dict[int, list[str]] = {}
    for report in reports:
        if report.model is Integration:
            for pk in report.rotated_pks:
                columns_by_pk.setdefault(pk, []).append(report.column)
    org_of = dict(Integration.objects.filter(pk__in=columns_by_pk).values_list("pk", "organization_id"))
    CredentialAudit.objects.bulk_create(
        CredentialAudit(integration_id=pk, organization_id=org_of[pk], action="rotated", fields=sorted(columns),
                        via="command")
        for pk, columns in columns_by_pk.items() if pk in org_of
    )
