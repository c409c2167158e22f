"""Read-only API over the synced records, one viewset per record type, scoped to the organization."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from rest_framework import mixins
from rest_framework.fields import BooleanField

from integrations.api_base import OrgScopedViewSet

from . import models as m
from .filters import filterset_for
from .serializers import SERIALIZERS


class RecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Lists hide records deleted at the source unless ``include_deleted=true``; a single record
    is always readable (it shows ``deleted_at``). Default order: ``updated_at, id``, so a client can
    page through changes with ``updated_since``."""

    ordering = ["updated_at", "id"]
    ordering_fields = ["updated_at", "created_at", "id", "last_synced_at"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action != "list":
            return queryset  # list filters do not apply to /<type>/<id>
        queryset = super().filter_queryset(queryset)
        if not BooleanField().to_internal_value(self.request.query_params.get("include_deleted", False)):
            queryset = queryset.filter(deleted_at__isnull=True)
        return queryset


def live_lines(model: type[m.SyncedRecord]) -> Prefetch:
    return Prefetch("lines", queryset=model.objects.filter(deleted_at__isnull=True).select_related("integration"))


# (URL prefix, model, extra ordering fields, prefetches): the table the viewsets are built from.
RECORD_TYPES: list[tuple[str, type[m.SyncedRecord], tuple[str, ...], tuple]] = [
    ("locations", m.Location, ("name",), ()),
    ("categories", m.Category, ("name",), ()),
    ("products", m.Product, ("name", "sku", "price"), ()),
    ("stock-levels", m.StockLevel, ("quantity",), ()),
    ("customers", m.Customer, ("name",), ()),
    ("suppliers", m.Supplier, ("name",), ()),
    ("orders", m.Order, ("ordered_at", "number", "total"), (live_lines(m.OrderLine),)),
    ("invoices", m.Invoice, ("issued_at", "number", "total"), (live_lines(m.InvoiceLine),)),
    ("payment-records", m.Payment, ("paid_at", "amount"), ()),
    ("staff-users", m.StaffUser, ("name",), ()),
    ("accounts", m.Account, ("name",), ()),
    ("charges", m.Charge, ("name",), ()),
    ("product-relations", m.ProductRelation, ("kind", "name"), ()),
]


def viewset_for(model: type[m.SyncedRecord], ordering: tuple[str, ...], prefetch: tuple) -> type[RecordViewSet]:
    attrs = {
        "__module__": __name__,
        "__doc__": f"{model._meta.verbose_name_plural.capitalize()} synced from the organization's integrations.",
        "queryset": model.objects.select_related("integration").prefetch_related(*prefetch),
        "serializer_class": SERIALIZERS[model],
        "filterset_class": filterset_for(model),
        "ordering_fields": [*RecordViewSet.ordering_fields, *ordering],
    }
    return type(f"{model.__name__}ViewSet", (RecordViewSet,), attrs)


VIEWSETS: dict[str, type[RecordViewSet]] = {
    prefix: viewset_for(model, ordering, prefetch) for prefix, model, ordering, prefetch in RECORD_TYPES
}
