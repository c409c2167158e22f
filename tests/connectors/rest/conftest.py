"""Fixtures: the generic REST sandbox on live_server, driven over HTTP, and REST integrations on it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests


class RestSandbox:
    def __init__(self, base: str):
        self.base = base

    def control(self, account: str, action: str, **body: Any) -> dict[str, Any]:
        resp = requests.post(f"{self.base}/_control", json={"account": account, "action": action, **body}, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture
def rest_sandbox(live_server) -> RestSandbox:
    return RestSandbox(live_server.url + "/sandbox/rest")


@pytest.fixture
def account(request, rest_sandbox) -> str:
    """A fresh sandbox account of this test."""
    name = f"acct{abs(hash(request.node.nodeid)) % 10**8}"
    rest_sandbox.control(name, "reset")
    return name


def base_config(base: str, account: str, *, streams: list[str] | None = None, prefetch: bool = False,
                auth: dict[str, Any] | None = None) -> dict[str, Any]:
    """The demo seed's config on ``account`` (streams picked by name); in-process syncs do not prefetch
    (a reader thread's connection cannot see the test's transaction)."""
    from connectors.rest import seed

    config = copy.deepcopy(seed.config(base.rsplit("/sandbox/rest", 1)[0]))
    config["auth"] = auth or {"type": "oauth2", "token_url": f"{base}/oauth/token", "client_id": account,
                              "scopes": "read"}
    if streams is not None:
        config["streams"] = [s for s in config["streams"] if s["name"] in streams]
        for s in config["streams"]:
            s["depends_on"] = [d for d in s.get("depends_on", []) if d in streams]
        config["field_mappings"] = {k: v for k, v in config["field_mappings"].items() if k in streams}
    config["prefetch"] = prefetch
    return config


@pytest.fixture
def make_rest(org, rest_sandbox, account):
    """``make_rest(streams=[...], auth=..., credentials=...)`` -> a RestConnector on the live sandbox."""
    from connectors.registry import get_connector_class
    from integrations.models import Integration

    cls = get_connector_class("rest")

    def make(streams: list[str] | None = None, auth: dict[str, Any] | None = None,
             credentials: dict[str, Any] | None = None, code: str = "rest", **config_extra: Any):
        config = cls.validate_config({**base_config(rest_sandbox.base, account, streams=streams, auth=auth),
                                      **config_extra})
        if credentials is None:
            credentials = {"client_secret": f"{account}-secret"}
        integration = Integration.objects.create(
            organization=org, name="REST", code=code, provider="rest", base_url=rest_sandbox.base,
            config=config, credentials=credentials)
        return cls(integration)

    return make


def read_all(connector, stream: str, cursor=None, full: bool = True) -> list:
    from connectors.base import SyncContext

    ctx = SyncContext(connector.integration, connector, connector.http)
    return list(connector.streams_for(connector.integration)[stream].read(ctx, cursor, full))
