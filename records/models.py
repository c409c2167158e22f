"""Canonical business records the connectors bring in.

Every record carries its binding to the system it came from (integration + external id, source
hash, sync status), so a re-sync updates instead of duplicating and skips unchanged rows. Records
are written in batches by ``records.upsert``, never one query per record.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from integrations.models import Integration, Organization

MONEY = {"max_digits": 18, "decimal_places": 4}
QTY = {"max_digits": 18, "decimal_places": 4}


class SyncStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    ERROR = "error", "Error"
    DELETED = "deleted", "Deleted at source"


class SyncedRecord(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # NULL for records created in the hub itself (e.g. to be pushed to a provider).
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=255, blank=True)
    source_hash = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(null=True, blank=True, help_text="The source record as last received.")
    sync_status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.SYNCED)
    sync_error = models.TextField(blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Deleted at the source (soft delete).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True

    @classmethod
    def live_index(cls, name: str) -> models.Index:
        """The live (not soft-deleted) rows per integration: the dashboard's "records held" counts them
        with an index-only scan instead of reading the whole table."""
        return models.Index(fields=["integration"], condition=Q(deleted_at__isnull=True), name=name)

    @classmethod
    def binding_constraint(cls, name: str) -> models.UniqueConstraint:
        return models.UniqueConstraint(
            fields=["integration", "external_id"], condition=~Q(external_id=""), name=name
        )


class LocationKind(models.TextChoices):
    BRANCH = "branch", "Branch"
    WAREHOUSE = "warehouse", "Warehouse"
    RESTAURANT = "restaurant", "Restaurant"
    STORE = "store", "Store"


class Location(SyncedRecord):
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=16, choices=LocationKind.choices, default=LocationKind.BRANCH)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [SyncedRecord.binding_constraint("uniq_location_binding")]
        indexes = [SyncedRecord.live_index("rec_location_live")]

    def __str__(self) -> str:
        return self.name


class Category(SyncedRecord):
    name = models.CharField(max_length=255)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [SyncedRecord.binding_constraint("uniq_category_binding")]
        indexes = [SyncedRecord.live_index("rec_category_live")]

    def __str__(self) -> str:
        return self.name


class Product(SyncedRecord):
    sku = models.CharField(max_length=100, blank=True, db_index=True)
    barcode = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    unit = models.CharField(max_length=64, blank=True)
    # Other units with their conversion to ``unit``: [{"name": "box", "factor": "12"}].
    units = models.JSONField(default=list, blank=True)
    price = models.DecimalField(null=True, blank=True, **MONEY)
    cost = models.DecimalField(null=True, blank=True, **MONEY)
    currency = models.CharField(max_length=3, blank=True)
    # Prices by price list: {"retail": "12.50", "wholesale": "10.00"}.
    prices = models.JSONField(default=dict, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [SyncedRecord.binding_constraint("uniq_product_binding")]
        indexes = [SyncedRecord.live_index("rec_product_live")]

    def __str__(self) -> str:
        return self.name


class StockLevel(SyncedRecord):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock_levels")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="stock_levels")
    quantity = models.DecimalField(default=0, **QTY)
    reserved = models.DecimalField(default=0, **QTY)

    class Meta:
        ordering = ["product_id", "location_id"]
        constraints = [SyncedRecord.binding_constraint("uniq_stock_binding")]
        indexes = [SyncedRecord.live_index("rec_stock_live")]

    def __str__(self) -> str:
        return f"{self.product_id} @ {self.location_id}: {self.quantity}"


class Party(SyncedRecord):
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    address = models.TextField(blank=True)
    tax_id = models.CharField(max_length=64, blank=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(Party):
    class Meta(Party.Meta):
        constraints = [SyncedRecord.binding_constraint("uniq_customer_binding")]
        indexes = [SyncedRecord.live_index("rec_customer_live")]


class Supplier(Party):
    class Meta(Party.Meta):
        constraints = [SyncedRecord.binding_constraint("uniq_supplier_binding")]
        indexes = [SyncedRecord.live_index("rec_supplier_live")]


class StaffUser(Party):
    """A user of the source system (cashier, manager): who created an order, who works at a branch."""

    username = models.CharField(max_length=150, blank=True)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta(Party.Meta):
        constraints = [SyncedRecord.binding_constraint("uniq_staffuser_binding")]
        indexes = [SyncedRecord.live_index("rec_staffuser_live")]


class Account(SyncedRecord):
    """A bank or cash account payments are booked to."""

    name = models.CharField(max_length=255)
    number = models.CharField(max_length=100, blank=True)
    bank = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [SyncedRecord.binding_constraint("uniq_account_binding")]
        indexes = [SyncedRecord.live_index("rec_account_live")]

    def __str__(self) -> str:
        return self.name


class Charge(SyncedRecord):
    """A surcharge or fee the source system adds to documents (service charge, delivery fee)."""

    code = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=255)
    value = models.DecimalField(null=True, blank=True, **MONEY)
    is_percent = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [SyncedRecord.binding_constraint("uniq_charge_binding")]
        indexes = [SyncedRecord.live_index("rec_charge_live")]

    def __str__(self) -> str:
        return self.name


class RelationKind(models.TextChoices):
    ATTRIBUTE = "attribute", "Attribute"
    UNIT = "unit", "Unit of measure"
    PRICE = "price", "Price-book price"
    COMPONENT = "component", "Formula (BOM) component"
    SERIAL = "serial", "Serial number"
    BATCH = "batch", "Batch / expiry"
    WARRANTY = "warranty", "Warranty"
    SHELF = "shelf", "Shelf"


class ProductRelation(SyncedRecord):
    """Facts that hang off a product, one row each (attributes, units, price-book prices, BOM
    components, serials, batches, warranties, shelves): upserted by external id like any record.

    The external id is built by the mapper from the product and the fact's own id, e.g.
    ``price:<pricebook>:<product>``, so a re-sync updates the row instead of adding another.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="relations")
    kind = models.CharField(max_length=16, choices=RelationKind.choices)
    name = models.CharField(max_length=255, blank=True)  # attribute / unit / price book / shelf name
    value = models.CharField(max_length=500, blank=True)  # attribute value, serial number, batch name
    quantity = models.DecimalField(null=True, blank=True, **QTY)  # unit factor, component qty, batch qty
    amount = models.DecimalField(null=True, blank=True, **MONEY)  # price-book price
    component = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)  # batch expiry, warranty end
    data = models.JSONField(default=dict, blank=True)  # anything else the source says about the fact

    class Meta:
        ordering = ["product_id", "kind", "name"]
        constraints = [SyncedRecord.binding_constraint("uniq_productrelation_binding")]
        indexes = [SyncedRecord.live_index("rec_productrelation_live")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name} {self.value}".strip()


class DocumentKind(models.TextChoices):
    SALES = "sales", "Sales"
    PURCHASE = "purchase", "Purchase"
    RETURN = "return", "Return"
    TRANSFER = "transfer", "Transfer"


class Document(SyncedRecord):
    kind = models.CharField(max_length=16, choices=DocumentKind.choices, default=DocumentKind.SALES)
    number = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(max_length=64, blank=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Transfers: where the goods go (``location`` is where they leave).
    to_location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    total = models.DecimalField(null=True, blank=True, **MONEY)
    currency = models.CharField(max_length=3, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        abstract = True


class Order(Document):
    ordered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        constraints = [SyncedRecord.binding_constraint("uniq_order_binding")]
        indexes = [SyncedRecord.live_index("rec_order_live")]

    def __str__(self) -> str:
        return self.number or f"order {self.pk}"


class Invoice(Document):
    issued_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices")

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [SyncedRecord.binding_constraint("uniq_invoice_binding")]
        indexes = [SyncedRecord.live_index("rec_invoice_live")]

    def __str__(self) -> str:
        return self.number or f"invoice {self.pk}"


class Line(SyncedRecord):
    line_no = models.PositiveIntegerField(default=0)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    description = models.CharField(max_length=500, blank=True)
    quantity = models.DecimalField(default=0, **QTY)
    unit_price = models.DecimalField(null=True, blank=True, **MONEY)
    discount = models.DecimalField(null=True, blank=True, **MONEY)
    total = models.DecimalField(null=True, blank=True, **MONEY)

    class Meta:
        abstract = True
        ordering = ["line_no"]


class OrderLine(Line):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")

    class Meta(Line.Meta):
        constraints = [SyncedRecord.binding_constraint("uniq_orderline_binding")]
        indexes = [SyncedRecord.live_index("rec_orderline_live")]

    def __str__(self) -> str:
        return f"order {self.order_id} line {self.line_no}"


class InvoiceLine(Line):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")

    class Meta(Line.Meta):
        constraints = [SyncedRecord.binding_constraint("uniq_invoiceline_binding")]
        indexes = [SyncedRecord.live_index("rec_invoiceline_live")]

    def __str__(self) -> str:
        return f"invoice {self.invoice_id} line {self.line_no}"


class Payment(SyncedRecord):
    number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments")
    # Cash flow direction: money in (receipt) or out (expense, refund).
    direction = models.CharField(max_length=8, choices=[("in", "In"), ("out", "Out")], default="in")

    class Meta:
        ordering = ["-paid_at", "-id"]
        constraints = [SyncedRecord.binding_constraint("uniq_payment_binding")]
        indexes = [SyncedRecord.live_index("rec_payment_live")]

    def __str__(self) -> str:
        return self.number or f"payment {self.pk}"


class PendingReference(models.Model):
    """A reference a record was written without: the referenced record had not arrived yet.

    ``records.upsert`` keeps one row per record and reference field it could not resolve (e.g. an
    order line whose product a later page brings), and links the record as soon as a record of the
    referenced model with that external id is written, by any sync or webhook.
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=100)  # the referencing record's model label, "records.OrderLine"
    record_external_id = models.CharField(max_length=255)
    field = models.CharField(max_length=64)  # "product"
    target_model = models.CharField(max_length=100)  # "records.Product"
    target_external_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "model", "record_external_id", "field"],
                                    name="uniq_pending_reference"),
        ]
        indexes = [
            models.Index(fields=["integration", "target_model", "target_external_id"], name="pending_ref_target"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.record_external_id}.{self.field} -> {self.target_external_id}"
