"""Filters shared by every record list: integration, updated_since, include_deleted, external_id, search."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from integrations.filters import HubFilterSet, IsoDateTimeFilter

from . import models as m


class RecordFilter(HubFilterSet):
    integration = django_filters.NumberFilter(field_name="integration_id")
    external_id = django_filters.CharFilter()
    sync_status = django_filters.ChoiceFilter(choices=m.SyncStatus.choices)
    updated_since = IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Records changed at or after this ISO date-time."
    )
    # Applied by the view (lists hide soft-deleted records unless asked); declared for validation and docs.
    include_deleted = django_filters.BooleanFilter(
        method="keep", help_text="Also list records deleted at the source (default false)."
    )
    search = django_filters.CharFilter(method="filter_search", help_text="Case-insensitive text search.")

    search_fields: tuple[str, ...] = ()

    def keep(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value or not self.search_fields:
            return queryset
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value})
        return queryset.filter(query)


# Searchable text per record type (a table, not one FilterSet class written out per model).
SEARCH_FIELDS: dict[type[m.SyncedRecord], tuple[str, ...]] = {
    m.Location: ("name", "code"),
    m.Category: ("name",),
    m.Product: ("name", "sku", "barcode"),
    m.StockLevel: ("product__name", "product__sku"),
    m.Customer: ("name", "code", "email", "phone"),
    m.Supplier: ("name", "code", "email", "phone"),
    m.Order: ("number",),
    m.Invoice: ("number",),
    m.Payment: ("number",),
    m.StaffUser: ("name", "username", "email", "phone"),
    m.Account: ("name", "number", "bank"),
    m.Charge: ("name", "code"),
    m.ProductRelation: ("name", "value", "product__name", "product__sku"),
}

# Extra equality filters where a record type has an obvious one.
EXTRA_FIELDS: dict[type[m.SyncedRecord], list[str]] = {
    m.Location: ["kind"],
    m.Product: ["sku", "category"],
    m.StockLevel: ["product", "location"],
    m.Order: ["kind", "status", "customer", "location"],
    m.Invoice: ["kind", "status", "customer", "supplier", "order"],
    m.Payment: ["status", "order", "invoice", "customer", "account", "direction"],
    m.StaffUser: ["location", "is_active"],
    m.ProductRelation: ["product", "kind", "location"],
}


def filterset_for(model: type[m.SyncedRecord]) -> type[RecordFilter]:
    meta = type("Meta", (), {"model": model, "fields": EXTRA_FIELDS.get(model, [])})
    attrs = {"Meta": meta, "search_fields": SEARCH_FIELDS.get(model, ()), "__module__": __name__}
    return type(f"{model.__name__}Filter", (RecordFilter,), attrs)
