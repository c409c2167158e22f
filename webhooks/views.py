"""POST /api/webhooks/receive/<key>: verify, store raw, answer; processing happens in a worker.

A plain Django view, not DRF: this is the hot path. Per accepted delivery it costs one cached
lookup, one HMAC and one INSERT, plus at most one Celery message per kick interval (queue.py).

Answers: 200 accepted / duplicate; 401 (or the connector's ``webhook_reject_status``) for a bad
signature, stored as rejected; 404 unknown key; 405; 413 body too large; 503 when the delivery
could not be stored (the sender retries). Once an event is stored, every answer is 2xx: anything
that fails afterwards is the sweep's job.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from connectors.base import InboundRequest, strip_payload_secrets
from connectors.errors import WebhookError
from integrations.errors import error_response

from . import lookup, queue, store
from .processing import log_rejection

log = logging.getLogger("webhooks.receive")


def _json(payload: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(payload, status=status, content_type="application/json")


def _max_body() -> int:
    return int(settings.WEBHOOK_MAX_BODY_BYTES)


def _error(code: str, message: str, status: int) -> JsonResponse:
    response = error_response(code, message, status)
    # We log our own line with only a prefix of the key; Django's request log would print the whole URL.
    response._has_been_logged = True
    return response


def _unavailable(message: str) -> JsonResponse:
    response = _error("unavailable", message, 503)
    response["Retry-After"] = "30"
    return response


def _too_large(key: str, limit: int) -> JsonResponse:
    log.warning("webhook for %s… refused: body over %s bytes", key[:6], limit)
    return _error("payload_too_large", f"Body larger than {limit} bytes.", 413)


def _read_body(request: HttpRequest, size: int) -> bytes:
    # Django reads a body without Content-Length as empty; a chunked body that the server has
    # de-chunked (gunicorn sets wsgi.input_terminated) is read from the WSGI stream instead.
    meta = request.META
    if not meta.get("CONTENT_LENGTH") and meta.get("wsgi.input_terminated"):
        return meta["wsgi.input"].read(size)
    return request.read(size)


@csrf_exempt
def receive(request: HttpRequest, key: str) -> HttpResponse:
    if request.method != "POST":
        response = _error("method_not_allowed", "Webhooks are delivered with POST.", 405)
        response["Allow"] = "POST"
        return response
    try:
        target = lookup.target_for(key)
    except DatabaseError:
        log.exception("webhook for %s…: integration lookup failed", key[:6])
        return _unavailable("Cannot accept webhooks right now; retry later.")
    if target is None:
        log.warning("webhook for unknown key %s… from %s", key[:6], request.META.get("REMOTE_ADDR"))
        return _error("not_found", "No integration for this webhook URL.", 404)

    limit = _max_body()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:  # refuse before reading a byte of it
        return _too_large(key, limit)
    body = _read_body(request, limit + 1)  # one byte past the limit tells "too large"
    if len(body) > limit:
        return _too_large(key, limit)

    headers = store.request_headers(request.META)
    inbound = InboundRequest(
        headers=headers,
        body=body,
        content_type=request.META.get("CONTENT_TYPE", ""),
        query=request.GET.dict(),
        remote_ip=request.META.get("REMOTE_ADDR", ""),
    )
    integration = target.integration
    delivery = store.Delivery(
        organization_id=integration.organization_id,
        integration_id=integration.pk,
        provider=integration.provider,
        endpoint=store.masked_endpoint(request.path, key),
        headers=store.stored_headers(headers),
        body=body,
        content_type=inbound.content_type,
        remote_ip=inbound.remote_ip or None,
        max_retries=target.max_retries,
    )
    try:
        verified = target.verify(inbound)
    except WebhookError as exc:
        return _reject(delivery, exc, target.reject_status or exc.status_code)
    except Exception:
        log.exception("webhook for %s…: verification crashed (connector %s)", key[:6], integration.provider)
        return _unavailable("Cannot verify this delivery right now; retry later.")

    delivery.event_id, delivery.event_type = verified.event_id, verified.event_type
    secret_names = target.connector.payload_secret_fields
    if secret_names:
        delivery.body = _without_payload_secrets(body, secret_names)
    try:
        event_pk = store.store_pending(delivery, held=target.held)
    except Exception:  # noqa: BLE001 - nothing stored: say so in JSON, and the sender retries
        log.exception("webhook for %s…: could not store the delivery", key[:6])
        return _unavailable("Cannot store this delivery right now; retry later.")
    if event_pk is None:
        return _json(b'{"status": "duplicate"}')
    if target.held:
        log.info("webhook for inactive integration %s kept without processing", integration.pk)
        return _json(b'{"status": "held", "id": %d}' % event_pk)
    queue.event_stored()  # never raises: a stored event is picked up by the sweep if the broker is down
    return _json(b'{"status": "accepted", "id": %d}' % event_pk)


def _without_payload_secrets(body: bytes, names: tuple[str, ...]) -> bytes:
    """The verified JSON body without the provider's payload secrets (Stripe's ``client_secret``).

    The stored copy is then no longer the signed bytes; it was verified on receipt, and the inbox
    serves bodies through the API and the admin. Bodies without such a field are stored as sent.
    """
    if not any(f'"{name}"'.encode() in body for name in names):
        return body
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return body  # not JSON we can read: the connector refuses or fails it when processing
    return json.dumps(strip_payload_secrets(payload, names), ensure_ascii=False, separators=(",", ":")).encode()


def _reject(delivery: store.Delivery, exc: WebhookError, status: int) -> HttpResponse:
    reason = str(exc) or exc.__class__.__name__
    log.info("webhook for integration %s rejected: %s", delivery.integration_id, reason)
    try:
        store.store_rejected(delivery, reason)
        log_rejection(delivery.organization_id, delivery.integration_id, delivery.endpoint, status, reason,
                      delivery.body)
    except DatabaseError:
        log.exception("could not record a rejected webhook for integration %s", delivery.integration_id)
    return _error(exc.code, reason, status)
