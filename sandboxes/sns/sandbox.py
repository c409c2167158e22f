"""AWS SNS sandbox: the Query API's ``Publish`` to a phone number, with a real SigV4 check.

Access key ``k`` has the secret ``k-secret``. The signature is recomputed with botocore over the
headers the client signed; a wrong one is 403 SignatureDoesNotMatch, an unknown key 403
InvalidClientTokenId. A phone number that is not E.164 is 400 InvalidParameter. Errors use SNS's
``ErrorResponse`` XML.
"""

from __future__ import annotations

import hmac
import re
import uuid
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sandboxes import messaging as kit

PROVIDER = "sns"
XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/sns/aws4_request, "
                  r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")


def _error(status: int, kind: str, code: str, message: str) -> HttpResponse:
    body = (f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>{kind}</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return HttpResponse(body, status=status, content_type="text/xml")


def _signature_ok(request: HttpRequest, key: str, region: str, signed: str, signature: str) -> bool:
    headers = {name: request.headers.get(name, "") for name in signed.split(";")}
    aws = AWSRequest(method=request.method, url=request.build_absolute_uri(), data=request.body, headers=headers)
    aws.context["timestamp"] = request.headers.get("X-Amz-Date", "")
    signer = SigV4Auth(Credentials(key, f"{key}-secret"), "sns", region)
    expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
    return hmac.compare_digest(expected, signature)


@csrf_exempt
def query_api(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "Sender", "InvalidAction", "POST only")
    found = AUTH.fullmatch(request.headers.get("Authorization", ""))
    if not found:
        return _error(403, "Sender", "MissingAuthenticationToken", "Request is missing Authentication Token")
    key, _, region, signed, signature = found.groups()
    if not key or not kit.check_secret(key, f"{key}-secret"):
        return _error(403, "Sender", "InvalidClientTokenId", "The security token included in the request is invalid.")
    if not _signature_ok(request, key, region, signed, signature):
        return _error(403, "Sender", "SignatureDoesNotMatch", "The request signature we calculated does not match "
                      "the signature you provided.")
    fault = kit.take_fault(PROVIDER, key)
    if fault:
        if fault["status"] == 429:
            return _error(400, "Sender", "Throttling", "Rate exceeded")
        return _error(fault["status"], "Receiver", "InternalError", "injected fault")
    form = request.POST
    if form.get("Action") == "GetSMSAttributes":
        return HttpResponse(f'<GetSMSAttributesResponse xmlns="{XMLNS}"><GetSMSAttributesResult><attributes>'
                            "<entry><key>DefaultSMSType</key><value>Transactional</value></entry></attributes>"
                            f"</GetSMSAttributesResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
                            "</ResponseMetadata></GetSMSAttributesResponse>", content_type="text/xml")
    if form.get("Action") != "Publish":
        return _error(400, "Sender", "InvalidAction", f"Could not find operation {form.get('Action')}")
    phone = form.get("PhoneNumber", "")
    if not E164.match(phone):
        return _error(400, "Sender", "InvalidParameter",
                      f"Invalid parameter: PhoneNumber Reason: {phone} is not valid to publish to")
    if not form.get("Message"):
        return _error(400, "Sender", "InvalidParameter", "Invalid parameter: Empty message")
    message_id = kit.record(PROVIDER, key, {"id": str(uuid.uuid4()), "to": phone, "body": form["Message"]})
    body = (f'<PublishResponse xmlns="{XMLNS}"><PublishResult><MessageId>{message_id}</MessageId></PublishResult>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></PublishResponse>")
    return HttpResponse(body, content_type="text/xml")


urlpatterns = [
    path("", query_api, name="sns-sandbox-query"),
    path("_control", kit.control_view(PROVIDER), name="sns-sandbox-control"),
]
