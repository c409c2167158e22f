"""The demo organization's SMS provider: this hub's Twilio sandbox (read by ``manage.py seed_demo``)."""

from __future__ import annotations

SID = "AC" + "0" * 31 + "1"


def demo_integrations(base: str) -> list[dict]:
    return [{"code": "twilio-sandbox", "name": "Twilio (sandbox)", "provider": "twilio", "type": "sms",
             "base_url": f"{base}/sandbox/twilio", "credentials": {"account_sid": SID, "auth_token": f"{SID}-secret"},
             "config": {"sender": "+14155550100", "priority": 10},
             "description": "SMS through the built-in Twilio sandbox (messages are kept, never sent)."}]
