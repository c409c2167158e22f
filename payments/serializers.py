"""API shapes of the ledger. Amounts are integers in minor units: a float or a decimal string is refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import PaymentStateChange, PaymentTransaction


class MinorUnitsField(serializers.IntegerField):
    default_error_messages = {"invalid": "An integer number of minor units (e.g. tiyin, cents) is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StateChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentStateChange
        fields = ["from_state", "to_state", "gateway_state", "reason", "source", "at"]


class PaymentSerializer(serializers.ModelSerializer):
    integration_code = serializers.CharField(source="integration.code", read_only=True)

    class Meta:
        model = PaymentTransaction
        fields = ["id", "integration", "integration_code", "provider", "order", "invoice", "reference", "description",
                  "amount", "currency", "refunded_amount", "gateway_transaction_id", "state", "gateway_state",
                  "cancel_reason", "test_mode", "created_at", "pending_at", "paid_at", "cancelled_at", "refunded_at",
                  "failed_at", "updated_at"]
        read_only_fields = fields


class PaymentDetailSerializer(PaymentSerializer):
    history = StateChangeSerializer(many=True, read_only=True)
    checkout = serializers.SerializerMethodField()

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "checkout", "raw", "history"]
        read_only_fields = fields

    def get_checkout(self, obj: PaymentTransaction) -> dict:
        return dict((obj.data or {}).get("checkout") or {})


MAX_ID = 2**63 - 1  # PostgreSQL's bigint: a larger id must be a 400, not a database error


def no_nul(value: str) -> None:
    if "\x00" in value:  # PostgreSQL refuses NUL in text
        raise serializers.ValidationError("NUL characters are not allowed.")


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class GatewayRefField(serializers.Field):
    """An integration of the caller's organization by id or code."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | str) or data == "":
            raise serializers.ValidationError("An integration id or code.")
        if isinstance(data, int) and not 1 <= data <= MAX_ID:
            raise serializers.ValidationError("No such integration.")
        if isinstance(data, str) and (len(data) > 100 or "\x00" in data):
            raise serializers.ValidationError("No such integration.")
        return data


class PaymentCreateSerializer(serializers.Serializer):
    integration = GatewayRefField(required=False)
    integrations = serializers.ListField(child=GatewayRefField(), required=False, min_length=1, max_length=5,
                                         help_text="Gateways in priority order; the next is tried only when one "
                                                   "could not be reached.")
    amount = MinorUnitsField(min_value=1, max_value=10**15, required=False)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    reference = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                      validators=[no_nul])
    order = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    invoice = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                        validators=[no_nul])
    payment_method = serializers.CharField(max_length=255, required=False, validators=[no_nul])
    return_url = serializers.URLField(required=False, validators=[no_nul])

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("integration" in attrs) == ("integrations" in attrs):
            raise serializers.ValidationError({"integration": "Give integration or integrations (not both)."})
        return attrs


class RefundSerializer(serializers.Serializer):
    amount = MinorUnitsField(min_value=1, max_value=10**15, required=False)


class TestPaymentSerializer(serializers.Serializer):
    """The services API document's test payment: ``{amount: 10.00, currency, gateway, orderId}``.

    ``amount`` is a decimal in major units (converted with the currency's exponent by the view);
    ``gateway`` is a provider (``stripe``), like ``provider``; ``integration`` picks one by id or code.
    """

    integration = GatewayRefField(required=False)
    provider = serializers.CharField(max_length=64, required=False, validators=[no_nul])
    gateway = serializers.CharField(max_length=64, required=False, validators=[no_nul])
    amount = serializers.DecimalField(max_digits=18, decimal_places=6, min_value=Decimal("0.000001"),
                                      max_value=Decimal(10**10), required=False)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    orderId = serializers.CharField(max_length=64, required=False, validators=[no_nul])  # noqa: N815 - the document's name
