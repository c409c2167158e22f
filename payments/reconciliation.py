"""Reconciliation: match a period's gateway transactions to our orders/invoices and list mismatches.

A transaction matches the order or invoice it was created for, else the one whose number is its
``reference``. Mismatches:
- ``paid_unknown_order``: paid, but no order or invoice of ours is found;
- ``amount_differs``: paid, and the document's total (in minor units) is not the amount paid;
- ``paid_twice``: the document (or reference) has more than one paid transaction (any gateway);
- ``cancelled_after_fulfilment``: cancelled or refunded while the document is fulfilled.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from typing import Any

from django.db.models import Q

from integrations.models import Integration, Organization
from records.models import Invoice, Order

from .models import PaymentState, PaymentTransaction
from .services import FULFILLED_STATUSES, document_amount

ISSUES = ("paid_unknown_order", "amount_differs", "paid_twice", "cancelled_after_fulfilment")
CSV_COLUMNS = ("transaction", "integration", "provider", "gateway_transaction_id", "reference", "state", "amount",
               "currency", "created_at", "paid_at", "document_kind", "document_id", "document_number",
               "document_total", "document_status", "issues")


def _key(tx: PaymentTransaction, doc: Any) -> str:
    if doc is not None:
        return f"{doc._meta.model_name}:{doc.pk}"
    return f"ref:{tx.reference}" if tx.reference else f"tx:{tx.pk}"


def reconcile(organization: Organization, *, integration: Integration | None = None, start: datetime | None = None,
              end: datetime | None = None) -> dict[str, Any]:
    """Transactions created in [start, end) (of one gateway, or all); each row with its issues."""
    qs = PaymentTransaction.objects.filter(organization=organization).select_related("integration", "order",
                                                                                     "invoice")
    if integration is not None:
        qs = qs.filter(integration=integration)
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lt=end)
    txs = list(qs.exclude(state__in=[PaymentState.CREATED, PaymentState.FAILED]).order_by("created_at", "id"))

    refs = {tx.reference for tx in txs if tx.reference and tx.order_id is None and tx.invoice_id is None}
    live = Q(organization=organization, deleted_at__isnull=True, number__in=refs)
    orders = {o.number: o for o in Order.objects.filter(live)} if refs else {}
    invoices = {i.number: i for i in Invoice.objects.filter(live)} if refs else {}
    docs = {tx.pk: tx.order or tx.invoice or orders.get(tx.reference) or invoices.get(tx.reference) for tx in txs}

    # Paid transactions per document/reference, across all gateways and periods.
    order_ids = {d.pk for d in docs.values() if d is not None and d._meta.model_name == "order"}
    invoice_ids = {d.pk for d in docs.values() if d is not None and d._meta.model_name == "invoice"}
    all_refs = {tx.reference for tx in txs if tx.reference}
    paid = (PaymentTransaction.objects.filter(organization=organization, state=PaymentState.PAID)
            .filter(Q(order_id__in=order_ids) | Q(invoice_id__in=invoice_ids) | Q(reference__in=all_refs))
            .select_related("order", "invoice"))
    paid_count: Counter[str] = Counter()
    for other in paid:
        doc = other.order or other.invoice or orders.get(other.reference) or invoices.get(other.reference)
        paid_count[_key(other, doc)] += 1

    rows = []
    for tx in txs:
        doc = docs[tx.pk]
        issues = []
        expected = document_amount(doc, tx.currency)
        fulfilled = doc is not None and (doc.status or "").strip().lower() in FULFILLED_STATUSES
        if tx.state == PaymentState.PAID:
            if doc is None:
                issues.append("paid_unknown_order")
            elif expected != tx.amount:
                issues.append("amount_differs")
            if paid_count[_key(tx, doc)] > 1:
                issues.append("paid_twice")
        elif tx.state in (PaymentState.CANCELLED, PaymentState.REFUNDED) and (fulfilled or tx.data.get("fulfilled")):
            issues.append("cancelled_after_fulfilment")
        rows.append({
            "transaction": tx.pk, "integration": tx.integration.code if tx.integration else None,
            "provider": tx.provider,
            "gateway_transaction_id": tx.gateway_transaction_id, "reference": tx.reference, "state": tx.state,
            "amount": tx.amount, "currency": tx.currency, "created_at": tx.created_at.isoformat(),
            "paid_at": tx.paid_at.isoformat() if tx.paid_at else None,
            "document_kind": doc._meta.model_name if doc is not None else None,
            "document_id": doc.pk if doc is not None else None,
            "document_number": doc.number if doc is not None else None,
            "document_total": expected, "document_status": doc.status if doc is not None else None,
            "issues": issues,
        })
    counts = Counter(issue for row in rows for issue in row["issues"])
    return {
        "from": start.isoformat() if start else None, "to": end.isoformat() if end else None,
        "integration": integration.pk if integration else None,
        "summary": {"transactions": len(rows), "matched": sum(1 for r in rows if r["document_id"] and not r["issues"]),
                    "mismatched": sum(1 for r in rows if r["issues"]), **{i: counts.get(i, 0) for i in ISSUES}},
        "rows": rows,
    }


def _cell(value: Any) -> Any:
    # A reference typed by a payer must not become a spreadsheet formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in report["rows"]:
        writer.writerow({k: _cell(v) for k, v in {**row, "issues": ";".join(row["issues"])}.items()})
    return out.getvalue()
