"""TextLocal: ``POST /send/`` with ``apikey``, ``numbers``, ``message``, ``sender``.

Answers HTTP 200 with ``{"status": "success", "messages": [{"id", "recipient"}], ...}`` or
``{"status": "failure", "errors": [{"code", "message"}]}``. Numbers go with their country code and
no "+". UK accounts use api.txtlocal.com, Indian accounts api.textlocal.in (base_url).
"""

from __future__ import annotations

from connectors.errors import ConfigError, FatalError
from connectors.messaging import Outgoing
from connectors.sms import SmsConnector

from .schemas import TextLocalCredentials


class TextLocalConnector(SmsConnector):
    provider = "textlocal"
    display_name = "TextLocal"
    default_base_url = "https://api.txtlocal.com"
    credentials_serializer = TextLocalCredentials
    # TextLocal error codes, from its API docs as recalled (not re-checked against a live account).
    error_codes = {
        "3": "auth",  # invalid login details
        "4": "recipient",  # no recipients specified
        "32": "recipient",  # invalid number format
        "51": "recipient",  # no valid numbers specified
        "7": "fatal",  # insufficient credits: another provider can still send
    }

    def test_connection(self) -> str:
        form = {"apikey": self.credential("api_key")}
        body = self.http.request("POST", "balance/", action="textlocal.test", data=form, auth=False,
                                 idempotent=True).json()
        if body.get("status") != "success":
            first = (body.get("errors") or [{}])[0]
            raise self.provider_error(first.get("code"), first.get("message", "failure"))
        return f"TextLocal balance: {(body.get('balance') or {}).get('sms')} SMS credits."

    def send(self, message: Outgoing) -> str:
        sender = message.sender or self.config_value("sender")
        if not sender:
            raise ConfigError("TextLocal sender not configured")
        form = {"apikey": self.credential("api_key"), "numbers": message.to.lstrip("+"), "message": message.body,
                "sender": sender, "custom": message.idempotency_key[:50]}
        body = self.http.request("POST", "send/", action="textlocal.send", data=form, auth=False).json()
        if body.get("status") != "success":
            first = (body.get("errors") or [{}])[0]
            raise self.provider_error(first.get("code"), first.get("message", "failure"))
        sent = body.get("messages") or []
        if not sent:
            raise FatalError("TextLocal answered success without messages")
        return str(sent[0].get("id", ""))
