"""Invoice lines follow their invoice: the runner writes lines as a page's extra rows but soft-deletes
only the stream's own model, so an invoice's lines that its latest version dropped, and the lines of
an invoice deleted at the source, are soft-deleted here (the invoices stream's ``after_write`` hook,
inside the page's transaction).
"""

from __future__ import annotations

from typing import Any

from records.models import Invoice, InvoiceLine
from records.upsert import mark_missing_children

from . import mappers


def drop_stale_invoice_lines(integration: Any, result: Any, deleted_ids: list[str]) -> None:
    if deleted_ids:
        mark_missing_children(integration, InvoiceLine, "invoice", deleted_ids, ())
    if result is not None and result.updated_ids:
        payloads = Invoice.objects.filter(integration=integration, external_id__in=result.updated_ids).values_list(
            "payload", flat=True)
        kept = {line.external_id for raw in payloads if isinstance(raw, dict) for line in mappers.invoice_lines(raw)}
        mark_missing_children(integration, InvoiceLine, "invoice", result.updated_ids, kept)
