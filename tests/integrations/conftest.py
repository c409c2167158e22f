"""Fixtures for the integrations tests: integrations of the demo provider and their secrets."""

from __future__ import annotations

import pytest

# Distinctive values, so a scan of the database or of a page finds them if they ever leak.
CLIENT_SECRET = "cs-Plaintext-7f3a9c-never-stored"
CLIENT_ID = "acct-4471-client-id"
WEBHOOK_SECRET = "whk-Plaintext-b81d2e-never-stored"
ALL_SECRETS = (CLIENT_SECRET, CLIENT_ID, WEBHOOK_SECRET)


def integration_payload(**overrides) -> dict:
    body = {
        "name": "Demo shop",
        "code": "demo-shop",
        "type": "inventory",
        "provider": "demo",
        "base_url": "https://demo.example.com/",
        "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        "webhook_secret": WEBHOOK_SECRET,
        "config": {"page_size": 50},
        "sync_interval_minutes": 15,
        "auto_sync_enabled": True,
        "status": "active",
        "description": "The demo store",
    }
    body.update(overrides)
    return body


@pytest.fixture
def make_integration(db):
    """Create an integration with the ORM (secrets set), for tests that read or act on one."""
    from integrations.models import Integration

    def make(org, code="demo-shop", **fields):
        values = {
            "name": f"Demo {code}",
            "provider": "demo",
            "type": "inventory",
            "base_url": "https://demo.example.com/",
            "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            "webhook_secret": WEBHOOK_SECRET,
            "config": {"page_size": 50, "price_list": "retail", "token_url": ""},
        }
        values.update(fields)
        return Integration.objects.create(organization=org, code=code, **values)

    return make


@pytest.fixture
def integration(org, make_integration):
    return make_integration(org)
