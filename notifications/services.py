"""Send notifications: render, store one delivery per recipient, queue; deliver with failover.

``send`` commits the message and its deliveries, then queues ``tasks.deliver_message`` once the
transaction commits. ``deliver`` (in a worker) takes each due delivery through the organization's
providers of that channel in priority order until one accepts it. Each delivery is claimed with a
conditional UPDATE (queued -> sending) before any provider is called, so a repeated task or a
concurrent worker never sends it twice.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone

from connectors import ratelimit
from connectors.errors import RateLimitedError
from connectors.messaging import Outgoing, RecipientRejected
from connectors.registry import get_connector_class, providers
from integrations.backoff import backoff_delay
from integrations.models import Integration, IntegrationStatus, Organization

from .defaults import DEFAULT_TEMPLATES
from .metrics import NOTIFICATIONS
from .models import Delivery, DeliveryStatus, Message, MessageStatus, NotificationTemplate
from .recipients import InvalidRecipient, normalise

log = logging.getLogger("notifications")
# Queued by name: notifications.tasks imports this module (the task delivers through it), not the reverse.
DELIVER_MESSAGE = "notifications.tasks.deliver_message"


class NotificationError(ValueError):
    """Bad input to ``send`` (unknown template, no recipients, a template that does not render)."""


@dataclass
class Rendered:
    subject: str
    body: str
    html_body: str = ""


def render(organization: Organization, name: str, channel: str, context: dict[str, Any]) -> Rendered:
    """The organization's template (or the built-in one) rendered with ``context``."""
    custom = NotificationTemplate.objects.filter(organization=organization, name=name, channel=channel).first()
    if custom is not None:
        subject, body, html = custom.subject, custom.body, custom.html_body
    elif (name, channel) in DEFAULT_TEMPLATES:
        (subject, body), html = DEFAULT_TEMPLATES[(name, channel)], ""
    else:
        raise NotificationError(f"no template {name!r} for {channel}")
    ctx = Context(context, autoescape=False)
    try:
        rendered = Rendered(
            subject=" ".join(Template(subject).render(ctx).split())[:300],
            body=Template(body).render(ctx).strip(),
            html_body=Template(html).render(Context(context)) if html else "",
        )
    except TemplateSyntaxError as exc:
        raise NotificationError(f"template {name!r} ({channel}) does not render: {exc}") from None
    if not rendered.body:
        raise NotificationError(f"template {name!r} rendered an empty body")
    return rendered


def send(
    organization: Organization,
    channel: str,
    recipients: list[str],
    *,
    template: str = "custom",
    context: dict[str, Any] | None = None,
    idempotency_key: str = "",
) -> Message:
    """Queue one message for ``recipients``; the same ``idempotency_key`` returns the first message."""
    if channel not in ("email", "sms"):
        raise NotificationError(f"unknown channel {channel!r}")
    if not recipients:
        raise NotificationError("no recipients")
    if len(idempotency_key) > 200:
        raise NotificationError("idempotency_key is longer than 200 characters")
    context = dict(context or {})
    rendered = render(organization, template, channel, context)
    if not idempotency_key:
        # Without a caller's key: this content to these recipients, once per minute at most.
        digest = hashlib.sha256(repr((channel, template, sorted(recipients), rendered.subject, rendered.body,
                                      timezone.now().strftime("%Y%m%d%H%M"))).encode()).hexdigest()
        idempotency_key = f"auto:{digest[:40]}"
    existing = Message.objects.filter(organization=organization, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    rows: dict[str, Delivery] = {}
    for raw in recipients:
        try:
            rows.setdefault(normalise(channel, raw), Delivery(organization=organization))
        except InvalidRecipient as exc:
            rows.setdefault(str(raw)[:320], Delivery(organization=organization, status=DeliveryStatus.FAILED,
                                                     error=str(exc)))
    try:
        with transaction.atomic():
            message = Message.objects.create(
                organization=organization, idempotency_key=idempotency_key, channel=channel, template=template,
                subject=rendered.subject, body=rendered.body, html_body=rendered.html_body,
            )
            for recipient, row in rows.items():
                row.message, row.recipient = message, recipient
            Delivery.objects.bulk_create(rows.values())
            refresh_status(message)
    except IntegrityError:
        # The same key was sent concurrently: the other request's message stands.
        return Message.objects.get(organization=organization, idempotency_key=idempotency_key)
    if message.status == MessageStatus.QUEUED:
        transaction.on_commit(lambda: current_app.signature(DELIVER_MESSAGE).delay(message.pk))
    return message


def provider_chain(organization_id: int, channel: str) -> list[Integration]:
    """Active providers of the channel, by ``config.priority`` (lower first), then creation.

    Chosen by what the provider's connector sends, whatever ``type`` the integration was given.
    """
    codes = [code for code, cls in providers().items() if getattr(cls, "channel", "") == channel]
    rows = Integration.objects.filter(organization_id=organization_id, provider__in=codes,
                                      status=IntegrationStatus.ACTIVE)
    return sorted(rows, key=lambda i: (_priority(i), i.pk))


def _priority(integration: Integration) -> int:
    try:
        return int((integration.config or {}).get("priority", 100))
    except (TypeError, ValueError):
        return 100


def channel_limit(channel: str) -> tuple[int, float]:
    if channel == "email":
        return (int(settings.NOTIFICATIONS_EMAIL_PER_MINUTE), 60.0)
    return (int(settings.NOTIFICATIONS_SMS_PER_MINUTE), 60.0)


def deliver(message_id: int) -> float | None:
    """Send every due queued delivery of the message; return seconds until the next try, or None."""
    message = Message.objects.select_related("organization").get(pk=message_id)
    chain = provider_chain(message.organization_id, message.channel)
    retry_in: float | None = None
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
    for delivery_id in message.deliveries.filter(due, status=DeliveryStatus.QUEUED).values_list("id", flat=True):
        try:
            # One token per recipient, from the organization's channel budget shared by all workers.
            ratelimit.acquire(f"notify:{message.organization_id}:{message.channel}", channel_limit(message.channel),
                              max_wait=float(settings.NOTIFICATIONS_RATE_MAX_WAIT))
        except RateLimitedError as exc:
            # Budget spent: the rest stay queued (not dropped) and the task comes back when it refills.
            wait = max(exc.retry_after or 1.0, 0.5)
            Delivery.objects.filter(message=message, status=DeliveryStatus.QUEUED).filter(due).update(
                next_attempt_at=timezone.now() + timedelta(seconds=wait))
            retry_in = wait
            break
        now = timezone.now()
        claimed = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.SENDING, claimed_at=now)
        if not claimed:
            continue  # another worker has it
        delivery = Delivery.objects.select_related("message").get(pk=delivery_id)
        later = _send_through_chain(delivery, chain)
        if later is not None:
            retry_in = later if retry_in is None else min(retry_in, later)
    refresh_status(message)
    return retry_in


def _send_through_chain(delivery: Delivery, chain: list[Integration]) -> float | None:
    message = delivery.message
    outgoing = Outgoing(channel=message.channel, to=delivery.recipient, body=message.body, subject=message.subject,
                        html_body=message.html_body, idempotency_key=delivery.idempotency_key)
    attempts = list(delivery.attempts)
    if not chain:
        attempts.append(_attempt(None, ok=False, error=f"no active {message.channel} provider configured",
                                 kind="config"))
    for integration in chain:
        try:
            connector = get_connector_class(integration.provider)(integration)
            provider_id = connector.send(outgoing)
        except RecipientRejected as exc:
            attempts.append(_attempt(integration, ok=False, error=exc.message, kind="recipient"))
            _finish(delivery, attempts, DeliveryStatus.FAILED, error=exc.message)
            _count(integration, message.channel, "rejected")
            return None
        except Exception as exc:  # noqa: BLE001 - any provider failure moves on to the next provider
            text = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            attempts.append(_attempt(integration, ok=False, error=text, kind=getattr(exc, "kind", "fatal")))
            _count(integration, message.channel, "failed")
            log.warning("notification %s via %s failed, trying the next provider: %s",
                        delivery.pk, integration.provider, text)
            continue
        attempts.append(_attempt(integration, ok=True))
        _finish(delivery, attempts, DeliveryStatus.SENT, integration=integration, provider_message_id=provider_id)
        _count(integration, message.channel, "sent")
        return None
    rounds = delivery.rounds + 1
    if rounds >= settings.NOTIFICATIONS_MAX_ROUNDS:
        _finish(delivery, attempts, DeliveryStatus.FAILED, error=attempts[-1]["error"], rounds=rounds)
        return None
    # Every provider failed: try the whole chain again later, with backoff and jitter.
    delay = backoff_delay(rounds, base=settings.NOTIFICATIONS_RETRY_BASE, cap=3600.0)
    _finish(delivery, attempts, DeliveryStatus.QUEUED, error=attempts[-1]["error"], rounds=rounds,
            next_attempt_at=timezone.now() + timedelta(seconds=delay))
    return delay


def _attempt(integration: Integration | None, *, ok: bool, error: str = "", kind: str = "") -> dict[str, Any]:
    return {"at": timezone.now().isoformat(), "integration": integration.pk if integration else None,
            "provider": integration.provider if integration else "", "ok": ok, "error": error[:500], "kind": kind}


def _finish(delivery: Delivery, attempts: list, status: str, **fields: Any) -> None:
    now = timezone.now()
    integration = fields.pop("integration", None)
    values = {"attempts": attempts, "status": status, "claimed_at": None, **fields}
    if integration is not None:
        values.update(integration=integration, provider=integration.provider)
    if status == DeliveryStatus.SENT:
        values.update(sent_at=now, error="", next_attempt_at=None)
    Delivery.objects.filter(pk=delivery.pk).update(**values)


def _count(integration: Integration, channel: str, outcome: str) -> None:
    NOTIFICATIONS.labels(provider=integration.provider, channel=channel, outcome=outcome).inc()


def refresh_status(message: Message) -> None:
    statuses = set(message.deliveries.values_list("status", flat=True))
    if statuses & {DeliveryStatus.QUEUED, DeliveryStatus.SENDING}:
        status = MessageStatus.QUEUED
    elif statuses <= {DeliveryStatus.SENT}:
        status = MessageStatus.SENT
    elif DeliveryStatus.SENT in statuses:
        status = MessageStatus.PARTIAL
    else:
        status = MessageStatus.FAILED
    if status != message.status:
        Message.objects.filter(pk=message.pk).update(status=status)
        message.status = status


def reap_lost_sends() -> int:
    """Deliveries a dead worker left in 'sending': mark them unknown (never re-sent blindly)."""
    cutoff = timezone.now() - timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS)
    lost = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff)
    message_ids = set(lost.values_list("message_id", flat=True))
    count = lost.update(status=DeliveryStatus.UNKNOWN,
                        error="worker lost while sending: check the provider before resending")
    for message in Message.objects.filter(pk__in=message_ids):
        refresh_status(message)
    return count


def due_message_ids(limit: int = 500) -> list[int]:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
    return list(Delivery.objects.filter(due, status=DeliveryStatus.QUEUED)
                .values_list("message_id", flat=True).distinct()[:limit])
