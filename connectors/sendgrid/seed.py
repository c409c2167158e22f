"""The demo organization's e-mail provider: this hub's SendGrid sandbox."""

from __future__ import annotations


def demo_integrations(base: str) -> list[dict]:
    return [{"code": "sendgrid-sandbox", "name": "SendGrid (sandbox)", "provider": "sendgrid", "type": "email",
             "base_url": f"{base}/sandbox/sendgrid/v3", "credentials": {"api_key": "demo-secret"},
             "config": {"from_email": "alerts@demo.example", "priority": 20},
             "description": "E-mail through the built-in SendGrid sandbox (messages are kept, never sent)."}]
