"""AWS SNS SMS: the Query API's ``Publish`` with ``PhoneNumber`` (no topic), signed with SigV4.

The request is signed with botocore's SigV4 signer and sent through the platform's HTTP client (so
it is logged, redacted and rate-budgeted like every other provider call). Answers are XML:
``PublishResponse/PublishResult/MessageId``, or ``ErrorResponse/Error/{Type,Code,Message}``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - parses the answer of the configured AWS endpoint
from urllib.parse import urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from connectors.errors import ConnectorError, FatalError
from connectors.messaging import Outgoing
from connectors.sms import SmsConnector

from .schemas import SnsConfig, SnsCredentials

NS = "{http://sns.amazonaws.com/doc/2010-03-31/}"


class SnsConnector(SmsConnector):
    provider = "sns"
    display_name = "AWS SNS"
    credentials_serializer = SnsCredentials
    config_serializer = SnsConfig
    # docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors
    error_codes = {
        "InvalidClientTokenId": "auth", "SignatureDoesNotMatch": "auth", "AuthorizationError": "auth",
        "Throttling": "rate_limited", "InternalError": "transient", "KMSThrottling": "rate_limited",
        "InvalidParameter": "recipient", "OptedOut": "recipient",
    }

    @property
    def base_url(self) -> str:
        region = self.config_value("region", "us-east-1")
        return (self.integration.base_url or f"https://sns.{region}.amazonaws.com").rstrip("/")

    def send(self, message: Outgoing) -> str:
        params = {"Action": "Publish", "Version": "2010-03-31", "PhoneNumber": message.to, "Message": message.body,
                  "MessageAttributes.entry.1.Name": "AWS.SNS.SMS.SMSType",
                  "MessageAttributes.entry.1.Value.DataType": "String",
                  "MessageAttributes.entry.1.Value.StringValue": self.config_value("sms_type", "Transactional")}
        sender = message.sender or self.config_value("sender")
        if sender:
            params.update({"MessageAttributes.entry.2.Name": "AWS.SNS.SMS.SenderID",
                           "MessageAttributes.entry.2.Value.DataType": "String",
                           "MessageAttributes.entry.2.Value.StringValue": sender})
        message_id = self._call(params, "sns.publish").findtext(f"{NS}PublishResult/{NS}MessageId")
        if not message_id:
            raise FatalError("SNS answered without a MessageId")
        return message_id

    def test_connection(self) -> str:
        self._call({"Action": "GetSMSAttributes", "Version": "2010-03-31"}, "sns.test", idempotent=True)
        return f"AWS SNS accepted the credentials in {self.config_value('region', 'us-east-1')}."

    def _call(self, params: dict[str, str], action: str, idempotent: bool = False) -> ET.Element:
        """One signed Query API call; the parsed XML answer, or the SNS error mapped to our kinds."""
        url = self.base_url + "/"
        body = urlencode(params)
        request = AWSRequest(method="POST", url=url, data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        credentials = Credentials(self.credential("access_key_id"), self.credential("secret_access_key"))
        SigV4Auth(credentials, "sns", self.config_value("region", "us-east-1")).add_auth(request)
        try:
            resp = self.http.request("POST", url, action=action, data=body, auth=False, idempotent=idempotent,
                                     headers=dict(request.headers.items()))
        except ConnectorError as exc:
            code, text = _error(getattr(exc, "response", None))
            if code:
                raise self.provider_error(code, text, exc.status_code) from exc
            raise
        try:
            return ET.fromstring(resp.content)  # noqa: S314
        except ET.ParseError:
            raise FatalError("SNS answered something that is not XML") from None


def _error(resp) -> tuple[str, str]:
    if resp is None:
        return "", ""
    try:
        root = ET.fromstring(resp.content)  # noqa: S314
    except ET.ParseError:
        return "", ""
    return root.findtext(f"{NS}Error/{NS}Code") or "", root.findtext(f"{NS}Error/{NS}Message") or ""
