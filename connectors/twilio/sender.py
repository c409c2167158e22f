"""Twilio Programmable Messaging: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``.

Basic auth (Account SID : Auth Token), form-encoded ``To``, ``From`` (or ``MessagingServiceSid``),
``Body``; 201 with the Message resource (``sid`` "SM..."); errors as ``{"code", "message",
"more_info", "status"}``.
"""

from __future__ import annotations

import base64

from connectors.errors import ConfigError, FatalError
from connectors.messaging import Outgoing
from connectors.sms import SmsConnector

from .schemas import TwilioConfig, TwilioCredentials


class TwilioConnector(SmsConnector):
    provider = "twilio"
    display_name = "Twilio"
    default_base_url = "https://api.twilio.com"
    credentials_serializer = TwilioCredentials
    config_serializer = TwilioConfig
    # Twilio error codes (twilio.com/docs/api/errors) that are about the recipient, not the account.
    error_codes = {
        "21211": "recipient",  # invalid 'To' number
        "21614": "recipient",  # 'To' is not a mobile number
        "21610": "recipient",  # recipient unsubscribed (replied STOP)
        "21612": "recipient",  # cannot route to this number
        "20003": "auth",  # authentication failed
        "20429": "rate_limited",
        "20500": "transient",
    }

    def _auth(self) -> tuple[str, dict[str, str]]:
        sid, token = self.credential("account_sid"), self.credential("auth_token")
        return sid, {"Authorization": "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()}

    def test_connection(self) -> str:
        sid, headers = self._auth()
        account = _json(self.http.request("GET", f"2010-04-01/Accounts/{sid}.json", action="twilio.test",
                                          headers=headers, auth=False))
        return f"Twilio account {account.get('friendly_name') or sid} is {account.get('status', 'reachable')}."

    def send(self, message: Outgoing) -> str:
        sid, headers = self._auth()
        form = {"To": message.to, "Body": message.body}
        service = self.config_value("messaging_service_sid")
        if service:
            form["MessagingServiceSid"] = service
        else:
            form["From"] = message.sender or self.config_value("sender")
            if not form["From"]:
                raise ConfigError("Twilio sender (From number) or messaging_service_sid not configured")
        try:
            resp = self.http.request("POST", f"2010-04-01/Accounts/{sid}/Messages.json", action="twilio.send",
                                     data=form, headers=headers, auth=False)
        except FatalError as exc:
            body = _json(getattr(exc, "response", None))
            if body.get("code"):
                raise self.provider_error(body["code"], body.get("message", ""), exc.status_code) from exc
            raise
        body = _json(resp)
        if not body.get("sid"):
            raise FatalError("Twilio answered without a message sid")
        return body["sid"]


def _json(resp) -> dict:
    try:
        data = resp.json() if resp is not None else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
