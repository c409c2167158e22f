"""The demo organization's generic webhook integration (read by ``manage.py seed_demo``)."""

from __future__ import annotations

import secrets


def demo_integrations(base: str) -> list[dict]:
    return [{
        "code": "generic-webhook",
        "name": "Generic webhook (HMAC-SHA256 hex)",
        "provider": "webhook",
        "type": "webhook",
        "config": {"signature_scheme": "hmac-sha256-hex", "signature_header": "X-Signature"},
        "webhook_secret": secrets.token_urlsafe(24),
        "description": "Receives any JSON/form/XML webhook signed with HMAC-SHA256 (hex) in X-Signature.",
    }]
