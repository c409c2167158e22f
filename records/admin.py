"""Admin for the synced records: browse, filter and search; read-only (records come from syncs)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from unfold.admin import TabularInline

from integrations.admin_base import LargeTableMixin, OrgRelatedFilter, ReadOnlyOrgAdmin

from . import models as m


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted at source"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "No"), ("yes", "Yes")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(deleted_at__isnull=self.value() == "no")
        return queryset


BINDING_DISPLAY = ["integration", "external_id", "sync_status", "last_synced_at", "deleted_at"]


class RecordAdmin(LargeTableMixin, ReadOnlyOrgAdmin):
    """Read-only: a record changed here would be overwritten by the next sync anyway."""

    list_filter = [("integration", OrgRelatedFilter), "sync_status", DeletedFilter]
    list_select_related = ["integration"]
    # Newest first by primary key (an index): the models' name ordering would sort the whole table.
    ordering = ["-id"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class LineInline(TabularInline):
    fields = ["line_no", "product", "description", "quantity", "unit_price", "discount", "total", "external_id",
              "deleted_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return True  # shown only inside its document, whose admin already checked the organization


class OrderLineInline(LineInline):
    model = m.OrderLine


class InvoiceLineInline(LineInline):
    model = m.InvoiceLine


# model -> (own columns in the list, search fields, extra list filters, inlines): the table the admins come from.
ADMINS: dict[type[m.SyncedRecord], tuple[list[str], list[str], list, list]] = {
    m.Location: (["name", "code", "kind"], ["name", "code"], ["kind"], []),
    m.Category: (["name", "parent"], ["name"], [], []),
    m.Product: (["name", "sku", "price", "currency", "is_active"], ["name", "sku", "barcode"], ["is_active"], []),
    m.StockLevel: (["product", "location", "quantity", "reserved"], ["product__name", "product__sku"], [], []),
    m.Customer: (["name", "code", "email", "phone"], ["name", "code", "email", "phone"], [], []),
    m.Supplier: (["name", "code", "email", "phone"], ["name", "code", "email", "phone"], [], []),
    m.Order: (["number", "kind", "status", "ordered_at", "total", "currency"], ["number"], ["kind", "status"],
              [OrderLineInline]),
    m.Invoice: (["number", "kind", "status", "issued_at", "total", "currency"], ["number"], ["kind", "status"],
                [InvoiceLineInline]),
    m.OrderLine: (["order", "line_no", "product", "quantity", "total"], ["order__number", "description"], [], []),
    m.InvoiceLine: (["invoice", "line_no", "product", "quantity", "total"], ["invoice__number", "description"],
                    [], []),
    m.Payment: (["number", "status", "method", "amount", "currency", "paid_at"], ["number"], ["status", "method"],
                []),
    m.StaffUser: (["name", "username", "email", "location", "is_active"], ["name", "username", "email"],
                  ["is_active"], []),
    m.Account: (["name", "number", "bank", "currency"], ["name", "number", "bank"], [], []),
    m.Charge: (["name", "code", "value", "is_percent", "is_active"], ["name", "code"], ["is_active"], []),
    m.ProductRelation: (["product", "kind", "name", "value", "quantity", "amount", "location", "expires_at"],
                        ["product__name", "product__sku", "name", "value"], ["kind"], []),
}

for _model, (_columns, _search, _filters, _inlines) in ADMINS.items():
    admin.site.register(_model, type(f"{_model.__name__}Admin", (RecordAdmin,), {
        "__module__": __name__,
        "list_display": ["id", *_columns, *BINDING_DISPLAY],
        "search_fields": ["external_id", *_search],
        "list_filter": [*RecordAdmin.list_filter, *_filters],
        "inlines": _inlines,
        "list_select_related": ["integration", *(c for c in _columns if _model._meta.get_field(c).is_relation)],
    }))
