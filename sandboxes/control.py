"""The one switch for every sandbox's control endpoint (fault injection, data changes, webhook sends)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from integrations.jsonlimits import loads  # request bodies: JSON nested too deep is a ValueError


def control_enabled() -> bool:
    # A control endpoint can make this server POST anywhere (webhooks): never open on a public hub.
    return bool(settings.DEBUG or settings.TESTING or settings.SANDBOX_CONTROL_ENABLED)


class ControlRefused(Exception):
    """A control call refused before its action runs; each sandbox answers it in its provider's error shape."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def control_body(request: HttpRequest) -> dict[str, Any]:
    """The JSON object a control call sent: refused when control is off, not a POST, or not a JSON object."""
    if not control_enabled():
        raise ControlRefused(404, "the sandbox control endpoint is off (see SANDBOX_CONTROL_ENABLED)")
    if request.method != "POST":
        raise ControlRefused(405, "POST only")
    try:
        body = loads(request.body or b"{}")
    except ValueError:
        raise ControlRefused(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ControlRefused(400, "expected a JSON object")
    return body
