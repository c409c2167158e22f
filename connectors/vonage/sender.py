"""Vonage (Nexmo) SMS API: ``POST /sms/json`` with ``api_key``, ``api_secret``, ``from``, ``to``, ``text``.

Vonage answers HTTP 200 even for a refused message: the outcome is ``messages[0].status`` ("0" is
accepted) with an ``error-text``; ``to`` is the number without its "+".
"""

from __future__ import annotations

from connectors.errors import ConfigError, FatalError
from connectors.messaging import Outgoing
from connectors.sms import SmsConnector

from .schemas import VonageCredentials


class VonageConnector(SmsConnector):
    provider = "vonage"
    display_name = "Vonage"
    default_base_url = "https://rest.nexmo.com"
    credentials_serializer = VonageCredentials
    # developer.vonage.com/api-errors/sms
    error_codes = {
        "1": "rate_limited",  # throttled
        "4": "auth",  # invalid credentials
        "5": "transient",  # internal error
        "6": "recipient",  # invalid message: unrecognised number prefix
        "7": "recipient",  # number barred
        "8": "auth",  # partner account barred
        "9": "fatal",  # partner quota violation (no credit): another provider can still send
    }

    def test_connection(self) -> str:
        params = {"api_key": self.credential("api_key"), "api_secret": self.credential("api_secret")}
        body = self.http.get_json("account/get-balance", action="vonage.test", params=params, auth=False)
        return f"Vonage account balance: {body.get('value')} EUR."

    def send(self, message: Outgoing) -> str:
        sender = message.sender or self.config_value("sender")
        if not sender:
            raise ConfigError("Vonage sender not configured")
        form = {"api_key": self.credential("api_key"), "api_secret": self.credential("api_secret"),
                "from": sender.lstrip("+"), "to": message.to.lstrip("+"), "text": message.body,
                "client-ref": message.idempotency_key[:100]}
        body = self.http.request("POST", "sms/json", action="vonage.send", data=form, auth=False).json()
        parts = body.get("messages") or []
        if not parts:
            raise FatalError("Vonage answered without messages")
        failed = next((p for p in parts if str(p.get("status")) != "0"), None)
        if failed is not None:
            raise self.provider_error(failed.get("status"), failed.get("error-text", ""))
        return str(parts[0].get("message-id", ""))
