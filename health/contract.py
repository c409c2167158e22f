"""The six services of the services API document (``/api/integrations/...``), from the hub's own parts.

The document names ``email``, ``sms``, ``payment``, ``kafka``, ``fileStorage`` and ``externalAPI``. Each
maps onto what the hub really has for the organization:

- ``email``, ``sms``, ``payment``: its integrations of that kind (e-mail and SMS providers by what their
  connector sends, payment gateways by the gateway contract); ``externalAPI``: every other integration
  (POS, ERP, inventory, webhooks), plus the sync and webhook pipelines;
- ``kafka``: the event bus, i.e. the organization's event destinations (Kafka, RabbitMQ, Redis streams,
  webhooks) fed by the outbox;
- ``fileStorage``: the document store (``FILES_BACKEND``) with its local fallback.

A service's health is ``healthy`` / ``unhealthy`` / ``error`` with ``details`` (one entry per provider,
destination or store: ``status`` ``success`` / ``warning`` / ``error`` / ``inactive`` and a ``message``)
and, when it is not healthy, an ``error`` sentence. A service with nothing configured is ``unhealthy``
("no SMS provider configured"), as the document's own example shows for a gateway without a key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from connectors.gateway import PaymentGateway
from connectors.registry import providers
from integrations.models import Integration, IntegrationStatus, Organization
from notifications.defaults import DEFAULT_TEMPLATES
from notifications.models import NotificationTemplate
from notifications.services import provider_chain

from . import checks, services
from .checks import ERROR, HEALTHY, INACTIVE, UNHEALTHY

NAMES = ("email", "sms", "payment", "kafka", "fileStorage", "externalAPI")


def _channel(integration: Integration) -> str:
    cls = providers().get(integration.provider)
    return getattr(cls, "channel", "") if cls is not None else ""


def _is_gateway(integration: Integration) -> bool:
    cls = providers().get(integration.provider)
    return cls is not None and issubclass(cls, PaymentGateway)


def _kind(integration: Integration) -> str:
    """Which documented service an integration belongs to."""
    channel = _channel(integration) or integration.type
    if channel in ("email", "sms"):
        return channel
    if _is_gateway(integration) or integration.type == "payment_gateway":
        return "payment"
    return "externalAPI"


@dataclass(frozen=True)
class Spec:
    name: str
    type: str
    nothing: str  # the error when nothing is configured


SPECS: dict[str, Spec] = {
    "email": Spec("Email Service", "communication", "no e-mail provider configured"),
    "sms": Spec("SMS Service", "communication", "no SMS provider configured"),
    "payment": Spec("Payment Gateway", "payment", "no payment gateway configured"),
    "kafka": Spec("Event Streaming", "messaging", "no event destination configured (events wait in the outbox)"),
    "fileStorage": Spec("File Storage", "storage", "no file store configured"),
    "externalAPI": Spec("External API", "integration", "no external API integration configured"),
}

_ENTRY = {HEALTHY: "success", UNHEALTHY: "warning", ERROR: "error", INACTIVE: "inactive"}


class Context:
    """One request's view of the organization: its integrations and their health, computed once."""

    def __init__(self, organization: Organization):
        self.organization = organization
        self.integrations = list(Integration.objects.filter(organization=organization).order_by("name"))
        self.health = {h.id: h for h in checks.integration_health(self.integrations)}

    def of_kind(self, kind: str) -> list[Integration]:
        return [i for i in self.integrations if _kind(i) == kind]


def _integration_entry(context: Context, integration: Integration) -> dict[str, Any]:
    h = context.health[integration.pk]
    return {"status": _ENTRY[h.status], "message": "; ".join(h.problems) or "Configuration valid",
            "name": integration.name, "provider": integration.provider, "type": integration.type,
            "health": h.status, "problems": h.problems, "signals": h.signals}


def _from_integrations(context: Context, kind: str, extra: list[str] | None = None) -> dict[str, Any]:
    rows = context.of_kind(kind)
    details = {i.code: _integration_entry(context, i) for i in rows}
    live = [context.health[i.pk] for i in rows if context.health[i.pk].status != INACTIVE]
    problems = [f"{h.code}: {p}" for h in live for p in h.problems] + list(extra or [])
    if not live:
        why = SPECS[kind].nothing if not rows else f"every one is inactive: {', '.join(i.code for i in rows)}"
        return {"status": UNHEALTHY, "details": details, "error": why}
    status = checks.worst([h.status for h in live] + ([UNHEALTHY] if extra else []))
    return _result(status, details, problems)


def _result(status: str, details: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status, "details": details}
    if status != HEALTHY:
        out["error"] = "; ".join(problems) or status
    return out


def _kafka(context: Context) -> dict[str, Any]:
    info = services.events(context.organization)
    details = {d["name"]: {"status": "success" if d["active"] and not d["consecutive_failures"] else
                           "inactive" if not d["active"] else "error",
                           "message": d["last_error"] or ("Configuration valid" if d["active"] else "inactive"),
                           "kind": d["kind"], "pending": d["pending"]} for d in info["destinations"]}
    if not any(d["active"] for d in info["destinations"]):
        return {"status": UNHEALTHY, "details": details,
                "error": "; ".join([SPECS["kafka"].nothing, *info["problems"]])}
    return _result(info["status"], details, info["problems"])


def _files(context: Context) -> dict[str, Any]:
    info = services.files(context.organization)
    details = {info["backend"]: {"status": "success" if info["status"] == HEALTHY else "warning",
                                 "message": "; ".join(info["problems"]) or "Configuration valid",
                                 "stored_24h": info["stored_24h"]}}
    return _result(info["status"], details, info["problems"])


def _external(context: Context) -> dict[str, Any]:
    pipeline = services.sync(context.organization)["problems"] + services.webhooks(context.organization)["problems"]
    return _from_integrations(context, "externalAPI", pipeline)


HEALTH: dict[str, Callable[[Context], dict[str, Any]]] = {
    "email": lambda c: _from_integrations(c, "email"),
    "sms": lambda c: _from_integrations(c, "sms"),
    "payment": lambda c: _from_integrations(c, "payment"),
    "kafka": _kafka,
    "fileStorage": _files,
    "externalAPI": _external,
}


def health(context: Context, name: str) -> dict[str, Any]:
    return HEALTH[name](context)


def all_health(context: Context) -> dict[str, dict[str, Any]]:
    return {name: health(context, name) for name in NAMES}


def status_entry(name: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"status": result["status"], "name": SPECS[name].name, "type": SPECS[name].type}


def counts(results: dict[str, dict[str, Any]]) -> dict[str, int]:
    out = {"total": len(results), HEALTHY: 0, UNHEALTHY: 0, ERROR: 0}
    for result in results.values():
        out[result["status"]] += 1
    return out


def info(context: Context, name: str) -> dict[str, Any]:
    """``services/<name>``: name, type, active or inactive, and what the service depends on."""
    result = health(context, name)
    if name == "kafka":
        dests = [d for d in services.events(context.organization)["destinations"]]
        deps = [f"{d['kind']}:{d['name']}" for d in dests]
        active = any(d["active"] for d in dests)
    elif name == "fileStorage":
        deps = ["FILES_BACKEND", f"STORAGES.hub_files ({services.backend_name('hub_files')})",
                "STORAGES.hub_files_fallback (local)"]
        active = True
    else:
        rows = context.of_kind(name)
        deps = [f"{i.provider}:{i.code}" for i in rows]
        active = any(i.status != IntegrationStatus.INACTIVE for i in rows)
    return {"name": SPECS[name].name, "type": SPECS[name].type, "status": "active" if active else "inactive",
            "dependencies": deps, "health": result["status"], **({"error": result["error"]} if "error" in result
                                                                  else {})}


def templates(organization: Organization, channel: str) -> list[str]:
    names = {name for name, ch in DEFAULT_TEMPLATES if ch == channel}
    names |= set(NotificationTemplate.objects.filter(organization=organization, channel=channel)
                 .values_list("name", flat=True))
    return sorted(names)


def channel_metrics(organization: Organization, channel: str) -> dict[str, Any]:
    """``metrics.email`` / ``metrics.sms``: the providers in the order they are tried, and the templates."""
    chain = [i.code for i in provider_chain(organization.pk, channel)]
    key = "transporters" if channel == "email" else "providers"
    return {key: chain, "templates": templates(organization, channel), "status": "active" if chain else "inactive",
            "rate_limit_per_minute": settings.NOTIFICATIONS_EMAIL_PER_MINUTE if channel == "email"
            else settings.NOTIFICATIONS_SMS_PER_MINUTE}
