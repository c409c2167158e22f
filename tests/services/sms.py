"""Shared by the SMS connector tests: an integration on a sandbox, and the sandbox's control calls."""

from __future__ import annotations

import requests

from connectors.messaging import Outgoing
from integrations.models import Integration


def control(live_server, provider: str, account: str, **body) -> dict:
    resp = requests.post(f"{live_server.url}/sandbox/{provider}/_control", json={"account": account, **body},
                         timeout=5)
    resp.raise_for_status()
    return resp.json()


def connector_for(integration: Integration):
    from connectors.registry import get_connector_class

    return get_connector_class(integration.provider)(integration)


def sms(to: str = "+447911123456", body: str = "Stock low: Milk 3 left") -> Outgoing:
    return Outgoing(channel="sms", to=to, body=body, idempotency_key="msg-1:1")
