"""The demo organization's backup SMS provider: this hub's Vonage sandbox."""

from __future__ import annotations


def demo_integrations(base: str) -> list[dict]:
    return [{"code": "vonage-sandbox", "name": "Vonage (sandbox)", "provider": "vonage", "type": "sms",
             "base_url": f"{base}/sandbox/vonage", "credentials": {"api_key": "demo", "api_secret": "demo-secret"},
             "config": {"sender": "DemoShop", "priority": 20},
             "description": "Backup SMS provider: the built-in Vonage sandbox."}]
