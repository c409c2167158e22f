"""PayPal webhooks, verified offline against PayPal's signing certificate (or, with
``config.verification = "api"``, by PayPal's verify-webhook-signature call), deduplicated on the
event's ``id`` by the hub's inbox.

Offline: ``PAYPAL-TRANSMISSION-SIG`` is a Base64 SHA256withRSA signature of
``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body, unsigned decimal>`` made
with the key of the certificate at ``PAYPAL-CERT-URL``. The certificate is fetched only from PayPal's
own API hosts (``PAYPAL_CERT_URL_PREFIXES``; plus this hub's own PayPal sandbox while sandboxes are
served) and cached, so a forger cannot point us at a certificate of their own.

PayPal promises neither ordering nor single delivery: the ledger's transition table ignores stale
events, and refunds are applied as PayPal's running total.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from connectors.base import InboundRequest, WebhookDelivery
from connectors.errors import ConnectorError, IgnoredEvent, SignatureError
from connectors.gateway import PaymentState, PaymentTransaction, ledger
from connectors.signatures import event_object, lower_headers, split_secrets, text
from integrations import jsonlimits

from .amounts import minor_units

if TYPE_CHECKING:
    from connectors.base import StoredEvent

    from .client import PayPalConnector

HEADERS = ("paypal-transmission-id", "paypal-transmission-time", "paypal-transmission-sig", "paypal-cert-url",
           "paypal-auth-algo")
DEFAULT_CERT_URL_PREFIXES = ("https://api.paypal.com/", "https://api-m.paypal.com/",
                             "https://api.sandbox.paypal.com/", "https://api-m.sandbox.paypal.com/")
CERT_TTL = 24 * 3600
CERT_MAX_BYTES = 20_000

# Capture status -> our state.
CAPTURE_STATES = {
    "COMPLETED": PaymentState.PAID,
    "PENDING": PaymentState.PENDING,
    "DECLINED": PaymentState.FAILED,
    "FAILED": PaymentState.FAILED,
    "PARTIALLY_REFUNDED": PaymentState.PAID,
    "REFUNDED": PaymentState.PAID,  # the refund itself is applied from PAYMENT.CAPTURE.REFUNDED
}


# --- verification ----------------------------------------------------------------------------------
def signed_string(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()


def cert_url_prefixes() -> tuple[str, ...]:
    prefixes = tuple(getattr(settings, "PAYPAL_CERT_URL_PREFIXES", DEFAULT_CERT_URL_PREFIXES))
    if getattr(settings, "SANDBOXES_ENABLED", False):
        # Demo and test mode: this hub's own PayPal sandbox signs with a certificate it serves.
        prefixes += (f"{settings.HUB_PUBLIC_URL.rstrip('/')}/sandbox/paypal/",)
    return prefixes


def _cert_key(url: str) -> str:
    return "paypal-cert:" + hashlib.sha256(url.encode()).hexdigest()


def remember_cert(url: str, pem: bytes) -> None:
    cache.set(_cert_key(url), pem, CERT_TTL)


def certificate(url: str) -> x509.Certificate:
    """The signing certificate at ``url`` (a trusted PayPal URL), cached for a day."""
    if not url.startswith(cert_url_prefixes()) or "/../" in url or "@" in url.split("/")[2]:
        raise SignatureError("PAYPAL-CERT-URL is not on PayPal's own host")
    pem = cache.get(_cert_key(url))
    if pem is None:
        try:
            response = requests.get(url, timeout=10, allow_redirects=False)
        except requests.RequestException as exc:
            raise ConnectorError(f"could not fetch PayPal's certificate: {exc.__class__.__name__}") from None
        if response.status_code != 200 or len(response.content) > CERT_MAX_BYTES:
            raise SignatureError(f"PayPal's certificate could not be read (HTTP {response.status_code})")
        pem = response.content
        remember_cert(url, pem)
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise SignatureError("PayPal's certificate is not a PEM certificate") from None
    now = datetime.now(UTC)
    if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
        raise SignatureError("PayPal's certificate is expired or not yet valid")
    names = [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    if not any(str(name).endswith(".paypal.com") for name in names):
        raise SignatureError("the certificate is not PayPal's")
    return cert


def _delivery(body: bytes) -> WebhookDelivery:
    payload = event_object(body, "PayPal")
    return WebhookDelivery(event_id=text(payload.get("id")), event_type=text(payload.get("event_type")))


def _headers(request: InboundRequest) -> dict[str, str]:
    h = lower_headers(request.headers)
    missing = [name for name in HEADERS if not h.get(name)]
    if missing:
        raise SignatureError(f"missing signature header {missing[0]}")
    if h["paypal-auth-algo"] != "SHA256withRSA":
        raise SignatureError(f"unsupported PAYPAL-AUTH-ALGO {h['paypal-auth-algo'][:40]!r}")
    return h


def verify(request: InboundRequest, secret: str) -> WebhookDelivery:
    """Offline verification; ``secret`` holds the webhook id(s) (several while moving to a new listener)."""
    webhook_ids = split_secrets(secret)
    if not webhook_ids:
        raise SignatureError("no PayPal webhook id is configured (the integration's webhook secret)")
    h = _headers(request)
    try:
        sig = base64.b64decode(h["paypal-transmission-sig"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("signature does not match (not Base64)") from None
    key = certificate(h["paypal-cert-url"]).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the certificate holds no RSA key")
    matched = False
    for webhook_id in webhook_ids[:10]:
        message = signed_string(h["paypal-transmission-id"], h["paypal-transmission-time"], webhook_id, request.body)
        try:
            key.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
            matched = True
        except InvalidSignature:
            continue
    if not matched:
        raise SignatureError("signature does not match")
    return _delivery(request.body)


def verify_with_api(connector: PayPalConnector, request: InboundRequest, secret: str) -> WebhookDelivery:
    """PayPal's ``POST v1/notifications/verify-webhook-signature`` (one call per delivery)."""
    webhook_ids = split_secrets(secret)
    if not webhook_ids:
        raise SignatureError("no PayPal webhook id is configured (the integration's webhook secret)")
    h = _headers(request)
    delivery = _delivery(request.body)
    event = jsonlimits.loads(request.body)
    for webhook_id in webhook_ids[:10]:
        answer = connector.call("POST", "v1/notifications/verify-webhook-signature",
                                action="paypal.webhooks.verify", json={
                                    "auth_algo": h["paypal-auth-algo"], "cert_url": h["paypal-cert-url"],
                                    "transmission_id": h["paypal-transmission-id"],
                                    "transmission_sig": h["paypal-transmission-sig"],
                                    "transmission_time": h["paypal-transmission-time"], "webhook_id": webhook_id,
                                    "webhook_event": event})
        if answer.get("verification_status") == "SUCCESS":
            return delivery
    raise SignatureError("signature does not match (PayPal answered FAILURE)")


# --- applying ---------------------------------------------------------------------------------------
def apply_capture(tx_id: int, capture: dict[str, Any], *, source: str) -> str:
    status = capture.get("status")
    if status not in CAPTURE_STATES:
        raise IgnoredEvent(f"unknown capture status {status!r}")
    new_state = CAPTURE_STATES[status]
    with transaction.atomic():
        tx = ledger().transactions().select_for_update().get(pk=tx_id)
        amount, currency = minor_units(capture.get("amount"))
        if new_state == PaymentState.PAID and (amount, currency) != (tx.amount, tx.currency):
            raise IgnoredEvent(f"capture {capture.get('id')} is not the {tx.amount} {tx.currency} of payment {tx.pk}")
        extra = None
        if new_state == PaymentState.PAID and (tx.data or {}).get("paypal_capture_id") != capture.get("id"):
            extra = {"data": {**(tx.data or {}), "paypal_capture_id": capture.get("id")}}
        reason = str((capture.get("status_details") or {}).get("reason") or status).lower() \
            if new_state == PaymentState.FAILED else ""
        changed = ledger().transition(tx, new_state, source=source, gateway_state=f"CAPTURE_{status}", reason=reason,
                                      raw=capture, extra_fields=extra)
    return f"payment {tx_id}: capture {status}" + ("" if changed else " (stale or unchanged: no change)")


def apply_refund(tx_id: int, refund: dict[str, Any], *, source: str, fallback: int | None = None) -> str:
    """PayPal's running total (``seller_payable_breakdown.total_refunded_amount``) is the refunded total."""
    total, _ = minor_units((refund.get("seller_payable_breakdown") or {}).get("total_refunded_amount"))
    if total is None:
        total = fallback
    if total is None:
        raise IgnoredEvent(f"refund {refund.get('id')} carries no total_refunded_amount")
    tx = ledger().apply_refund(tx_id, total, source=source, raw=refund)
    return f"payment {tx.pk}: {tx.refunded_amount} refunded, {tx.state}"


def _link_id(resource: dict[str, Any], rel: str, marker: str) -> str:
    for link in resource.get("links") or []:
        href = str(link.get("href", ""))
        if link.get("rel") == rel and marker in href:
            return href.rstrip("/").rsplit("/", 1)[-1]
    return ""


def _by_order(connector: PayPalConnector, order_id: str) -> PaymentTransaction:
    tx = ledger().transactions().filter(integration=connector.integration,
                                        gateway_transaction_id=order_id).first() if order_id else None
    if tx is None:
        raise IgnoredEvent(f"order {order_id or '?'} is not a payment of this hub")
    return tx


def _order_approved(connector: PayPalConnector, resource: dict[str, Any]) -> str:
    tx = _by_order(connector, str(resource.get("id", "")))
    if tx.state not in (PaymentState.CREATED, PaymentState.PENDING, PaymentState.FAILED):
        return f"payment {tx.pk}: already {tx.state} (no change)"
    return connector.capture(tx.pk, tx.gateway_transaction_id, source="paypal.webhook")


def _capture_event(connector: PayPalConnector, resource: dict[str, Any]) -> str:
    order_id = str(((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
                   or _link_id(resource, "up", "/checkout/orders/"))
    return apply_capture(_by_order(connector, order_id).pk, resource, source="paypal.webhook")


def _capture_refunded(connector: PayPalConnector, resource: dict[str, Any]) -> str:
    capture_id = _link_id(resource, "up", "/payments/captures/")
    qs = ledger().transactions().filter(integration=connector.integration)
    tx = qs.filter(data__paypal_capture_id=capture_id).first() if capture_id else None
    if tx is None:
        raise IgnoredEvent(f"capture {capture_id or '?'} is not a payment of this hub")
    return apply_refund(tx.pk, resource, source="paypal.webhook")


HANDLERS: dict[str, Callable[[PayPalConnector, dict[str, Any]], str]] = {
    "CHECKOUT.ORDER.APPROVED": _order_approved,
    "PAYMENT.CAPTURE.COMPLETED": _capture_event,
    "PAYMENT.CAPTURE.PENDING": _capture_event,
    "PAYMENT.CAPTURE.DENIED": _capture_event,
    "PAYMENT.CAPTURE.DECLINED": _capture_event,
    "PAYMENT.CAPTURE.REFUNDED": _capture_refunded,
}


def handle(connector: PayPalConnector, event: StoredEvent) -> str:
    try:
        payload = jsonlimits.loads(bytes(event.body))
    except ValueError:
        raise IgnoredEvent("not JSON") from None
    if not isinstance(payload, dict):
        raise IgnoredEvent("not a PayPal event")
    handler = HANDLERS.get(payload.get("event_type"))
    resource = payload.get("resource")
    if handler is None or not isinstance(resource, dict):
        raise IgnoredEvent(f"{event.event_type or 'event'} is not handled")
    return handler(connector, resource)
