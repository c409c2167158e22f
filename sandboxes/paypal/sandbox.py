"""Our PayPal sandbox: OAuth2 tokens, Orders v2, captures and refunds, and webhooks signed the way
PayPal signs them (SHA256withRSA over ``transmission_id|time|webhook_id|crc32(body)``, with a
certificate this sandbox serves).

Mounted under ``/sandbox/paypal/`` (demo and tests). ``POST v1/oauth2/token`` (Basic
client_id:secret; a client id's first secret sticks) issues Bearer tokens (``expires_in`` 32400);
state sits in the Django cache (``SandboxStore``).

- ``POST v2/checkout/orders`` (``PayPal-Request-Id``: a repeat gets the first answer), ``GET
  v2/checkout/orders/<id>``, ``POST v2/checkout/orders/<id>/capture`` (422 ORDER_NOT_APPROVED /
  ORDER_ALREADY_CAPTURED), ``POST v2/payments/captures/<id>/refund``; amounts as decimal strings
  checked against the currency's decimals (422 DECIMAL_PRECISION);
- ``POST v1/notifications/verify-webhook-signature``; ``GET v1/notifications/certs/<name>``;
- errors as ``{"name", "message", "debug_id", "details": [{"field", "issue", "description"}]}``;
- ``POST _control`` (JSON ``{"client_id", "action", ...}``): ``webhook_endpoint`` (url, webhook_id);
  ``approve`` (order_id: the payer approves; the client id may be left out); ``decline_next_capture``;
  ``expire_tokens``; ``fault`` (status, times); ``stats`` (tokens issued); ``send_event`` (event_type,
  resource, repeat).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import uuid
import zlib
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sandboxes.control import ControlRefused, control_body
from sandboxes.state import SandboxStore

CERT_NAME = "CERT-360caa42-fca2a594-sandbox01"
TOKEN_TTL = 32400
DECIMALS = {"JPY": 0, "HUF": 0, "TWD": 0}


def _new_state(account: str) -> dict[str, Any]:
    return {"secret": None, "tokens_issued": 0, "orders": {}, "captures": {}, "requests": {}, "webhook": None,
            "faults": [], "decline_next": False, "generation": 0}


STORE = SandboxStore("paypal-sandbox", _new_state)
_key_lock = threading.Lock()


def _id(n: int = 17) -> str:
    return "".join(secrets.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(n))


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, name: str, message: str, issue: str | None = None, field: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {"name": name, "message": message, "debug_id": secrets.token_hex(7)}
    if issue:
        body["details"] = [{"field": field or "", "issue": issue, "description": message}]
    return JsonResponse(body, status=status)


def _unprocessable(issue: str, description: str, field: str = "") -> JsonResponse:
    return JsonResponse({"name": "UNPROCESSABLE_ENTITY", "debug_id": secrets.token_hex(7),
                         "message": "The requested action could not be performed, semantically incorrect, or failed "
                                    "business validation.",
                         "details": [{"field": field, "issue": issue, "description": description}]}, status=422)


# --- the signing key and certificate (shared by every process serving the sandbox) -------------------
def signing_material() -> tuple[bytes, bytes]:
    """(private key PEM, certificate PEM), made once and kept in the cache."""
    found = cache.get("paypal-sandbox:signing")
    if found:
        return found
    with _key_lock:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "messageverificationcerts.sandbox.paypal.com")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
        material = (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()), cert.public_bytes(serialization.Encoding.PEM))
        cache.add("paypal-sandbox:signing", material, timeout=None)
    return cache.get("paypal-sandbox:signing") or material


def transmission_headers(body: bytes, webhook_id: str, cert_url: str, transmission_id: str | None = None,
                         transmission_time: str | None = None) -> dict[str, str]:
    transmission_id = transmission_id or str(uuid.uuid1())
    transmission_time = transmission_time or _now()
    key = serialization.load_pem_private_key(signing_material()[0], password=None)
    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()
    sig = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {"PAYPAL-TRANSMISSION-ID": transmission_id, "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(sig).decode(), "PAYPAL-CERT-URL": cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA"}


def event_body(event_type: str, resource_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"id": "WH-" + _id(17) + "-" + _id(17), "event_version": "1.0", "create_time": _now(),
            "resource_type": resource_type, "resource_version": "2.0", "event_type": event_type,
            "summary": event_type.replace(".", " ").lower(), "resource": resource, "links": []}


def deliver(webhook: dict[str, str], event: dict[str, Any]) -> int:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json",
               **transmission_headers(body, webhook["webhook_id"], webhook["cert_url"])}
    return requests.post(webhook["url"], data=body, headers=headers, timeout=10).status_code


def _emit(state: dict[str, Any], event_type: str, resource_type: str, resource: dict[str, Any]) -> None:
    webhook = state.get("webhook")
    if webhook:
        event = event_body(event_type, resource_type, json.loads(json.dumps(resource)))
        threading.Thread(target=deliver, args=(webhook, event), daemon=True).start()


# --- objects ---------------------------------------------------------------------------------------
def _amount_ok(money: Any) -> tuple[str, str] | JsonResponse:
    field = "/purchase_units/@reference_id=='default'/amount"
    if not isinstance(money, dict) or not money.get("currency_code") or not money.get("value"):
        return _error(400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates "
                                              "schema.", issue="MISSING_REQUIRED_PARAMETER", field=field)
    currency, value = str(money["currency_code"]), str(money["value"])
    try:
        number = Decimal(value)
    except InvalidOperation:
        return _unprocessable("INVALID_PARAMETER_VALUE", "The value of a field is invalid.", field + "/value")
    places = -number.as_tuple().exponent if number.as_tuple().exponent < 0 else 0
    if number <= 0 or places > DECIMALS.get(currency, 2):
        return _unprocessable("DECIMAL_PRECISION", "If the currency supports decimals, only two decimal place "
                                                   "precision is supported.", field + "/value")
    return currency, value


def _create_order(state: dict[str, Any], body: dict[str, Any], base: str) -> JsonResponse:
    if body.get("intent") not in ("CAPTURE", "AUTHORIZE"):
        return _error(400, "INVALID_REQUEST", "Request is not well-formed.", issue="INVALID_PARAMETER_VALUE",
                      field="/intent")
    units = body.get("purchase_units")
    if not isinstance(units, list) or len(units) != 1 or not isinstance(units[0], dict):
        return _error(400, "INVALID_REQUEST", "Request is not well-formed.", issue="MISSING_REQUIRED_PARAMETER",
                      field="/purchase_units")
    checked = _amount_ok(units[0].get("amount"))
    if isinstance(checked, JsonResponse):
        return checked
    oid = _id()
    order = {"id": oid, "intent": body["intent"], "status": "CREATED", "create_time": _now(),
             "purchase_units": [{**units[0], "reference_id": units[0].get("reference_id") or "default"}],
             "links": [{"href": f"{base}/v2/checkout/orders/{oid}", "rel": "self", "method": "GET"},
                       {"href": f"https://www.sandbox.paypal.com/checkoutnow?token={oid}", "rel": "approve",
                        "method": "GET"},
                       {"href": f"{base}/v2/checkout/orders/{oid}/capture", "rel": "capture", "method": "POST"}]}
    state["orders"][oid] = order
    return JsonResponse(order, status=201)


def _owner_key(oid: str) -> str:
    return f"paypal-sandbox:order-owner:{oid}"


def _capture(state: dict[str, Any], oid: str, base: str) -> JsonResponse:
    order = state["orders"].get(oid)
    if order is None:
        return _error(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.", issue="INVALID_RESOURCE_ID")
    if order["status"] == "COMPLETED":
        return _unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.If 'intent=CAPTURE' only one "
                                                        "capture per order is allowed.")
    if order["status"] != "APPROVED":
        return _unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.")
    unit = order["purchase_units"][0]
    declined = state.pop("decline_next", False)
    cid = _id()
    capture = {"id": cid, "status": "DECLINED" if declined else "COMPLETED", "amount": unit["amount"],
               "final_capture": True, "custom_id": unit.get("custom_id"), "create_time": _now(),
               "seller_protection": {"status": "ELIGIBLE"},
               "supplementary_data": {"related_ids": {"order_id": oid}}, "refunded": "0",
               "links": [{"href": f"{base}/v2/payments/captures/{cid}", "rel": "self", "method": "GET"},
                         {"href": f"{base}/v2/payments/captures/{cid}/refund", "rel": "refund", "method": "POST"},
                         {"href": f"{base}/v2/checkout/orders/{oid}", "rel": "up", "method": "GET"}]}
    state["captures"][cid] = capture
    order["status"] = "COMPLETED"
    unit["payments"] = {"captures": [capture]}
    _emit(state, "PAYMENT.CAPTURE.DENIED" if declined else "PAYMENT.CAPTURE.COMPLETED", "capture", capture)
    return JsonResponse(order, status=201)


def _refund(state: dict[str, Any], cid: str, body: dict[str, Any], base: str) -> JsonResponse:
    capture = state["captures"].get(cid)
    if capture is None:
        return _error(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.", issue="INVALID_RESOURCE_ID")
    if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
        return _unprocessable("CAPTURE_FULLY_REFUNDED" if capture["status"] == "REFUNDED" else "INVALID_CAPTURE",
                              "The capture cannot be refunded.")
    currency = capture["amount"]["currency_code"]
    left = Decimal(capture["amount"]["value"]) - Decimal(capture["refunded"])
    value = left
    if body.get("amount") is not None:
        checked = _amount_ok(body["amount"])
        if isinstance(checked, JsonResponse):
            return checked
        if checked[0] != currency:
            return _unprocessable("CURRENCY_MISMATCH", "Refund must be in the currency of the capture.")
        value = Decimal(checked[1])
    if value > left:
        return _unprocessable("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the "
                                                        "capture amount that has not yet been refunded.")
    capture["refunded"] = str(Decimal(capture["refunded"]) + value)
    capture["status"] = "REFUNDED" if value == left else "PARTIALLY_REFUNDED"
    rid = _id()
    places = DECIMALS.get(currency, 2)
    refund = {"id": rid, "status": "COMPLETED", "amount": {"currency_code": currency, "value": f"{value:.{places}f}"},
              "custom_id": body.get("custom_id"), "create_time": _now(),
              "seller_payable_breakdown": {"total_refunded_amount": {
                  "currency_code": currency, "value": f"{Decimal(capture['refunded']):.{places}f}"}},
              "links": [{"href": f"{base}/v2/payments/refunds/{rid}", "rel": "self", "method": "GET"},
                        {"href": f"{base}/v2/payments/captures/{cid}", "rel": "up", "method": "GET"}]}
    _emit(state, "PAYMENT.CAPTURE.REFUNDED", "refund", refund)
    return JsonResponse(refund, status=201)


# --- views -----------------------------------------------------------------------------------------
def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/sandbox/paypal").rstrip("/")


def _basic(request: HttpRequest) -> tuple[str, str] | None:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    try:
        client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (client_id, secret) if scheme == "Basic" and client_id and secret else None


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    creds = _basic(request)
    invalid = JsonResponse({"error": "invalid_client", "error_description": "Client Authentication failed"},
                           status=401)
    if creds is None:
        return invalid
    form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
    if form.get("grant_type") != "client_credentials":
        return JsonResponse({"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"},
                            status=400)
    client_id, secret = creds
    with STORE.locked(client_id) as state:
        if state["secret"] is None:
            state["secret"] = secret
        if not hmac.compare_digest(state["secret"], secret):
            return invalid
        access = "A21AA" + secrets.token_urlsafe(40)
        state["tokens_issued"] += 1
        generation = state["generation"]
    cache.set(f"paypal-sandbox:token:{hashlib.sha256(access.encode()).hexdigest()}", (client_id, generation),
              TOKEN_TTL)
    return JsonResponse({"scope": "https://uri.paypal.com/services/payments/payment", "access_token": access,
                         "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": TOKEN_TTL,
                         "nonce": f"{_now()}{secrets.token_hex(8)}"})


def _api(request: HttpRequest, run) -> HttpResponse:
    scheme, _, access = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    issued = cache.get(f"paypal-sandbox:token:{hashlib.sha256(access.encode()).hexdigest()}") \
        if scheme == "Bearer" else None
    client_id, generation = issued if issued else (None, None)
    if client_id is None or generation != STORE.load(client_id)["generation"]:
        return JsonResponse({"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed due to invalid "
                             "authentication credentials or a missing Authorization header.", "links": []}, status=401)
    body: dict[str, Any] = {}
    if request.method == "POST":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, "INVALID_REQUEST", "Request is not well-formed.", issue="MALFORMED_REQUEST_JSON")
        if not isinstance(body, dict):
            return _error(400, "INVALID_REQUEST", "Request is not well-formed.", issue="MALFORMED_REQUEST_JSON")
    request_id = request.META.get("HTTP_PAYPAL_REQUEST_ID", "")
    with STORE.locked(client_id) as state:
        if state["faults"]:
            fault = state["faults"].pop(0)
            if fault == 429:
                return _error(429, "RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting.")
            return _error(fault, "INTERNAL_SERVER_ERROR", "An internal server error has occurred.")
        if request_id and request.method == "POST":
            stored = state["requests"].get(f"{request.path}|{request_id}")
            if stored is not None:
                return JsonResponse(stored["body"], status=stored["status"])
        response = run(state, body, _base(request))
        if response.status_code == 201 and request.path.endswith("/v2/checkout/orders"):
            # The payer's side knows the order id only (the approve link): remember whose it is.
            cache.set(_owner_key(json.loads(response.content)["id"]), client_id, 30 * 24 * 3600)
        if request_id and request.method == "POST" and response.status_code < 500:
            state["requests"][f"{request.path}|{request_id}"] = {"status": response.status_code,
                                                                 "body": json.loads(response.content)}
        return response


@csrf_exempt
def orders(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "METHOD_NOT_SUPPORTED", "The server does not implement the requested HTTP method.")
    return _api(request, _create_order)


@csrf_exempt
def order(request: HttpRequest, oid: str, verb: str = "") -> HttpResponse:
    if request.method == "GET" and not verb:
        def read(state: dict[str, Any], _: dict[str, Any], base: str) -> JsonResponse:
            found = state["orders"].get(oid)
            return JsonResponse(found) if found else _error(404, "RESOURCE_NOT_FOUND", "The specified resource "
                                                            "does not exist.", issue="INVALID_RESOURCE_ID")

        return _api(request, read)
    if request.method != "POST" or verb != "capture":
        return _error(405, "METHOD_NOT_SUPPORTED", "The server does not implement the requested HTTP method.")
    return _api(request, lambda state, body, base: _capture(state, oid, base))


@csrf_exempt
def capture_refund(request: HttpRequest, cid: str) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "METHOD_NOT_SUPPORTED", "The server does not implement the requested HTTP method.")
    return _api(request, lambda state, body, base: _refund(state, cid, body, base))


@csrf_exempt
def verify_signature(request: HttpRequest) -> HttpResponse:
    def run(state: dict[str, Any], body: dict[str, Any], base: str) -> JsonResponse:
        # The CRC is of the event as it was sent (this sandbox sends json.dumps' default layout).
        event = json.dumps(body.get("webhook_event")).encode()
        key = serialization.load_pem_private_key(signing_material()[0], password=None).public_key()
        message = (f"{body.get('transmission_id')}|{body.get('transmission_time')}|{body.get('webhook_id')}|"
                   f"{zlib.crc32(event) & 0xFFFFFFFF}").encode()
        try:
            key.verify(base64.b64decode(str(body.get("transmission_sig", ""))), message, padding.PKCS1v15(),
                       hashes.SHA256())
            status = "SUCCESS"
        except Exception:  # noqa: BLE001 - any bad signature or encoding is a FAILURE answer, as PayPal gives
            status = "FAILURE"
        return JsonResponse({"verification_status": status})

    return _api(request, run)


def certificate(request: HttpRequest, name: str) -> HttpResponse:
    if name != CERT_NAME:
        return _error(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.")
    return HttpResponse(signing_material()[1], content_type="application/x-pem-file")


@csrf_exempt
def control(request: HttpRequest) -> HttpResponse:
    try:
        body = control_body(request)
    except ControlRefused as exc:
        return _error(exc.status, "INVALID_REQUEST", exc.message)
    client_id, action = str(body.get("client_id", "")), body.get("action")
    if not client_id and action == "approve":
        client_id = cache.get(_owner_key(str(body.get("order_id", "")))) or ""
    if not client_id:
        return _error(400, "INVALID_REQUEST", "client_id is required.")
    base = _base(request)
    with STORE.locked(client_id) as state:
        if action == "webhook_endpoint":
            state["webhook"] = ({"url": body["url"], "webhook_id": body["webhook_id"],
                                 "cert_url": body.get("cert_url") or f"{base}/v1/notifications/certs/{CERT_NAME}"}
                                if body.get("url") else None)
            return JsonResponse({"ok": True})
        if action == "approve":
            found = state["orders"].get(str(body.get("order_id", "")))
            if found is None or found["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED"):
                return _error(422, "UNPROCESSABLE_ENTITY", "The order cannot be approved.")
            found.update(status="APPROVED", payer={"payer_id": _id(13), "email_address": "payer@example.com"})
            _emit(state, "CHECKOUT.ORDER.APPROVED", "checkout-order", found)
            return JsonResponse(found)
        if action == "decline_next_capture":
            state["decline_next"] = True
            return JsonResponse({"ok": True})
        if action == "fault":
            state["faults"] += [int(body.get("status", 503))] * int(body.get("times", 1))
            return JsonResponse({"ok": True})
        if action == "expire_tokens":
            state["generation"] += 1  # every token issued so far is refused from now on
            return JsonResponse({"ok": True})
        if action == "stats":
            return JsonResponse({"tokens_issued": state["tokens_issued"]})
        webhook = state.get("webhook")
    if action == "send_event":
        if not webhook:
            return _error(400, "INVALID_REQUEST", "No webhook endpoint configured.")
        event = event_body(body["event_type"], body.get("resource_type", "capture"), body["resource"])
        statuses = [deliver(webhook, event) for _ in range(int(body.get("repeat", 1)))]
        return JsonResponse({"event_id": event["id"], "statuses": statuses})
    return _error(400, "INVALID_REQUEST", f"Unknown action {action!r}.")


urlpatterns = [
    path("v1/oauth2/token", token),
    path("v2/checkout/orders", orders),
    path("v2/checkout/orders/<str:oid>", order),
    path("v2/checkout/orders/<str:oid>/<str:verb>", order),
    path("v2/payments/captures/<str:cid>/refund", capture_refund),
    path("v1/notifications/verify-webhook-signature", verify_signature),
    path("v1/notifications/certs/<str:name>", certificate),
    path("_control", control),
]
