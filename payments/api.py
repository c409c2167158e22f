"""/api/v1/payments: create (with gateway priority), list, get, refund, reconciliation (JSON or CSV);
and the seed's ``POST /api/integrations/test/payment``. Scoped to the caller's organization."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, renderers, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from connectors.errors import ConfigError, ConnectorError
from connectors.money import exponent, to_major, to_minor
from integrations.api_base import OrgScopedViewSet
from integrations.errors import Conflict, error_body, seed_error_body
from integrations.filters import HubFilterSet, IsoDateTimeFilter, UtcIsoDateTimeField
from integrations.models import Integration, IntegrationStatus, Role
from records.models import Invoice, Order

from . import reconciliation, services
from .models import PaymentTransaction
from .serializers import (
    MAX_ID,
    PaymentCreateSerializer,
    PaymentDetailSerializer,
    PaymentSerializer,
    RefundSerializer,
    TestPaymentSerializer,
)

log = logging.getLogger("payments.api")
DEFAULT_TEST_AMOUNTS = {"UZS": 100_000, "USD": 1_000}


class PaymentFilter(HubFilterSet):
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = PaymentTransaction
        fields = ["integration", "provider", "state", "reference", "gateway_transaction_id", "order", "invoice"]


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        if isinstance(data, dict) and "rows" in data:
            return reconciliation.to_csv(data).encode()
        return renderers.JSONRenderer().render(data)  # an error envelope stays readable


class ReconciliationQuery(forms.Form):
    integration = forms.CharField(required=False)
    start = UtcIsoDateTimeField(required=False)
    end = UtcIsoDateTimeField(required=False)


def resolve_gateway(organization, ref: int | str) -> Integration:
    if isinstance(ref, str) and ("\x00" in ref or len(ref) > 100):
        raise exceptions.ValidationError({"integration": "No such integration."})
    qs = Integration.objects.filter(organization=organization)
    is_id = isinstance(ref, int) or (ref.isascii() and ref.isdigit() and int(ref) <= MAX_ID)
    integration = qs.filter(pk=int(ref)).first() if is_id else qs.filter(code=ref).first()
    if integration is None:
        raise exceptions.ValidationError({"integration": f"No integration {ref!r} in this organization."})
    if not services.is_gateway(integration):
        raise exceptions.ValidationError({"integration": f"{integration.code} is not a payment gateway."})
    return integration


def _document(organization, model_name: str, pk: int | None) -> Any:
    if pk is None:
        return None
    model = {"order": Order, "invoice": Invoice}[model_name]
    doc = model.objects.filter(organization=organization, pk=pk, deleted_at__isnull=True).first()
    if doc is None:
        raise exceptions.ValidationError({model_name: f"No {model_name} {pk} in this organization."})
    return doc


def start(request, data: dict[str, Any], *, test_mode: bool = False, source: str = "api") -> tuple[dict, int]:
    """Create a payment from validated input; (body, HTTP status)."""
    org = request.organization
    gateways = [resolve_gateway(org, ref) for ref in data.get("integrations") or [data["integration"]]]
    for gateway in gateways:
        if gateway.status == IntegrationStatus.INACTIVE:
            raise Conflict(f"Integration {gateway.code} is inactive.")
        if services.gateway_of(gateway).requires_reference and not data.get("reference"):
            raise exceptions.ValidationError({"reference": f"{gateway.provider} pays a reference: it is required."})
        if services.gateway_of(gateway).requires_payment_method and not data.get("payment_method"):
            raise exceptions.ValidationError({"payment_method": f"{gateway.provider} charges a payment token made "
                                                                "in the payer's browser: it is required."})
    order = _document(org, "order", data.get("order"))
    invoice = _document(org, "invoice", data.get("invoice"))
    if not (order or invoice) and data.get("reference"):
        order, invoice = services.find_documents(org.pk, data["reference"])
    doc = order or invoice
    currency = (data.get("currency") or (doc.currency if doc is not None else "") or "").upper()
    if not currency:
        raise exceptions.ValidationError({"currency": "Required (no order or invoice gives one)."})
    amount = data.get("amount") or services.document_amount(doc, currency)
    if not amount:
        raise exceptions.ValidationError({"amount": "Required (no order or invoice total gives one)."})
    for gateway in gateways:
        problem = services.gateway_of(gateway).check_payment(reference=data.get("reference", ""), amount=amount,
                                                             currency=currency)
        if problem:
            raise exceptions.ValidationError({"integration": f"{gateway.code}: {problem}."})
    options = {k: data[k] for k in ("payment_method", "return_url") if data.get(k)}
    try:
        result = services.create_payment(
            org, gateways, amount=amount, currency=currency, reference=data.get("reference", ""), order=order,
            invoice=invoice, description=data.get("description", ""), options=options, test_mode=test_mode,
            idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY", "")[:255], source=source,
        )
    except services.PaymentConflict as exc:
        raise Conflict(str(exc)) from None
    payment = PaymentDetailSerializer(result.transaction).data
    payment["checkout"] = result.checkout or payment["checkout"]
    attempts = [vars(a) for a in result.attempts]
    if result.error:
        details = {"payment": payment, "attempts": attempts}
        return error_body("gateway_error", f"The gateway did not confirm the payment: {result.error}", details), 502
    return {**payment, "attempts": attempts}, status.HTTP_201_CREATED


class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = PaymentTransaction.objects.select_related("integration")
    filterset_class = PaymentFilter
    ordering_fields = ["created_at", "id", "amount", "state"]
    required_roles = {"create": Role.MANAGER, "refund": Role.MANAGER}

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.prefetch_related("history") if self.action == "retrieve" else qs

    def get_serializer_class(self):
        return {"list": PaymentSerializer, "create": PaymentCreateSerializer,
                "refund": RefundSerializer}.get(self.action, PaymentDetailSerializer)

    @extend_schema(request=PaymentCreateSerializer, responses={201: PaymentDetailSerializer})
    def create(self, request):
        """Create a payment at a gateway (or the first reachable of ``integrations``)."""
        ser = PaymentCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        body, code = start(request, ser.validated_data)
        return Response(body, status=code)

    @extend_schema(request=RefundSerializer, responses={200: PaymentDetailSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        """Refund ``amount`` (minor units; default: what is left) through the gateway."""
        tx = self.get_object()
        ser = RefundSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        try:
            tx = services.refund(tx, ser.validated_data.get("amount"), source="api")
        except (services.PaymentConflict, ConfigError) as exc:
            raise Conflict(str(exc)) from None
        except ConnectorError as exc:
            return Response(error_body("gateway_error", exc.message, {"kind": exc.kind}), status=502)
        except Exception as exc:  # noqa: BLE001 - e.g. an unreadable answer: the refund's outcome is unknown
            log.exception("refund of payment %s failed", tx.pk)
            return Response(error_body("gateway_error", f"unexpected {exc.__class__.__name__}; the outcome is unknown "
                                       "(a repeat is safe: the same idempotency key is sent)", {}), status=502)
        return Response(PaymentDetailSerializer(tx).data)

    @extend_schema(parameters=[OpenApiParameter("integration", str), OpenApiParameter("start", datetime),
                               OpenApiParameter("end", datetime)], responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"], renderer_classes=[renderers.JSONRenderer, CSVRenderer])
    def reconciliation(self, request):
        """Transactions of a period (``start``, ``end``; ``integration`` id or code) matched to our orders and
        invoices, with mismatches. ``?format=csv`` exports CSV."""
        query = ReconciliationQuery(request.query_params)
        if not query.is_valid():
            raise exceptions.ValidationError(query.errors)
        ref = query.cleaned_data.get("integration")
        integration = resolve_gateway(request.organization, ref) if ref else None
        report = reconciliation.reconcile(request.organization, integration=integration,
                                          start=query.cleaned_data.get("start"), end=query.cleaned_data.get("end"))
        response = Response(report)
        if getattr(request.accepted_renderer, "format", "") == "csv":
            response["Content-Disposition"] = 'attachment; filename="reconciliation.csv"'
        return response


# The document's payment statuses (Stripe's words) for our ledger states.
TEST_STATUS = {"paid": "succeeded", "pending": "processing", "created": "requires_action", "failed": "failed",
               "cancelled": "canceled", "refunded": "refunded"}


class TestPaymentView(GenericAPIView):
    """POST /api/integrations/test/payment: a test-mode payment through a test-mode gateway of the
    organization (``integration``, or ``gateway`` / ``provider`` to choose). A live gateway is refused.

    Speaks the services API document: ``{amount: 10.00, currency, gateway, orderId}`` in, ``{success,
    transactionId, status, amount, currency, gateway}`` out (our ledger row beside them); errors in
    ``{"success": false, "message", "error"}``.
    """

    required_roles = {"POST": Role.MANAGER}
    serializer_class = TestPaymentSerializer

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(response.data, dict):
            response.data = seed_error_body(response.data)
        return response

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        ser = TestPaymentSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        gateway = self._gateway(request.organization, data)
        connector = services.gateway_of(gateway)
        if not connector.is_test_mode(gateway):
            raise Conflict(f"Integration {gateway.code} is not in test mode: no test payment through a live gateway.")
        currency = (data.get("currency") or connector.test_currency).upper()
        amount = DEFAULT_TEST_AMOUNTS.get(currency, 1_000)
        if data.get("amount") is not None:
            amount = to_minor(data["amount"], currency)
            if not amount or amount > 10**12:
                raise exceptions.ValidationError({"amount": f"{data['amount']} {currency} is not a whole number of "
                                                            f"minor units ({exponent(currency)} decimals)."})
        order_id = data.get("orderId", "")
        reference = f"TEST-{order_id}-{secrets.token_hex(4).upper()}" if order_id else \
            f"TEST-{secrets.token_hex(6).upper()}"
        body = {"integration": gateway.pk, "currency": currency, "reference": reference, "amount": amount,
                "description": f"Test payment {order_id}".strip(), **connector.test_options()}
        result, code = start(request, body, test_mode=True, source="api.test")
        if code >= 400:
            return Response(seed_error_body(result), status=code)
        # Our ledger row first, the document's fields over it (its amount is in major units; ours is
        # kept as amount_minor).
        return Response({"success": True, "data": {
            **result, "amount_minor": result["amount"],
            "success": result["state"] not in ("failed", "cancelled"),
            "transactionId": result["gateway_transaction_id"] or f"tx_{result['id']}",
            "status": TEST_STATUS.get(result["state"], result["state"]),
            "amount": float(to_major(result["amount"], result["currency"])), "currency": result["currency"],
            "gateway": gateway.provider, "orderId": order_id or None}})

    def _gateway(self, organization, data: dict[str, Any]) -> Integration:
        if data.get("integration") is not None:
            return resolve_gateway(organization, data["integration"])
        qs = Integration.objects.filter(organization=organization).exclude(status=IntegrationStatus.INACTIVE)
        if data.get("gateway") or data.get("provider"):
            qs = qs.filter(provider=data.get("gateway") or data["provider"])
        for integration in qs.order_by("id"):
            if services.is_gateway(integration) and services.gateway_of(integration).is_test_mode(integration):
                return integration
        raise Conflict("No active test-mode payment gateway in this organization.")
