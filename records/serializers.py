"""What the records API shows: each record's own fields plus its binding to the source system."""

from __future__ import annotations

from rest_framework import serializers

from . import models as m

# Binding columns shown together under ``external_ref`` rather than among the record's fields.
BINDING = ("organization", "integration", "external_id", "source_hash", "sync_status", "last_synced_at")


class ExternalRefSerializer(serializers.Serializer):
    integration = serializers.IntegerField(source="integration_id", allow_null=True)
    provider = serializers.CharField(source="integration.provider", allow_null=True)
    external_id = serializers.CharField()
    sync_status = serializers.CharField()
    last_synced_at = serializers.DateTimeField(allow_null=True)
    source_hash = serializers.CharField()


class RecordSerializer(serializers.ModelSerializer):
    """Base for every record type; the payload (source record) is shown on a single record only."""

    external_ref = ExternalRefSerializer(source="*", read_only=True)

    class Meta:
        exclude = BINDING

    def get_fields(self):
        fields = super().get_fields()
        view = self.context.get("view")
        if view is not None and getattr(view, "action", None) == "list":
            fields.pop("payload", None)
        return fields


def record_serializer(model: type[m.SyncedRecord], name: str = "", **extra_fields) -> type[RecordSerializer]:
    """A read-only serializer for ``model`` (the records API never writes); ``name`` names its schema
    component where the model's own name is taken by another app's (e.g. the payments ledger)."""
    meta = type("Meta", (RecordSerializer.Meta,), {"model": model, "read_only_fields": ()})
    attrs = {"Meta": meta, "__module__": __name__, **extra_fields}
    return type(f"{name or model.__name__}Serializer", (RecordSerializer,), attrs)


OrderLineSerializer = record_serializer(m.OrderLine)
InvoiceLineSerializer = record_serializer(m.InvoiceLine)

SERIALIZERS: dict[type[m.SyncedRecord], type[RecordSerializer]] = {
    m.Location: record_serializer(m.Location),
    m.Category: record_serializer(m.Category),
    m.Product: record_serializer(m.Product),
    m.StockLevel: record_serializer(m.StockLevel),
    m.Customer: record_serializer(m.Customer),
    m.Supplier: record_serializer(m.Supplier),
    m.Order: record_serializer(m.Order, lines=OrderLineSerializer(many=True, read_only=True)),
    m.Invoice: record_serializer(m.Invoice, lines=InvoiceLineSerializer(many=True, read_only=True)),
    m.Payment: record_serializer(m.Payment, name="PaymentRecord"),
    m.StaffUser: record_serializer(m.StaffUser),
    m.Account: record_serializer(m.Account),
    m.Charge: record_serializer(m.Charge),
    m.ProductRelation: record_serializer(m.ProductRelation),
}
