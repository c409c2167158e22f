"""KiotViet webhooks: each fixture payload, signed as KiotViet does, verifies and produces its result;
the shared security contract through the hub's KiotViet URL; the tolerant signature variants."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from connectors.base import InboundRequest, WebhookOutcome
from connectors.errors import IgnoredEvent, SignatureError
from records.models import Customer, Location, Product, StockLevel
from tests.webhooks.security import Sender, WebhookSecurityContract
from webhooks.models import WebhookEvent
from webhooks.processing import handle

from .conftest import WEBHOOK_SECRET, run_sync

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[3] / "connectors" / "kiotviet" / "fixtures"
SIZES = {"branches": 2, "categories": 3, "products": 12, "customers": 4}


def signed(body: bytes, secret: str = WEBHOOK_SECRET, **headers: str) -> InboundRequest:
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return InboundRequest(headers={"x-hub-signature": sig, **headers}, body=body, content_type="application/json")


def delivery(name: str) -> InboundRequest:
    return signed((FIXTURES / f"{name}.json").read_bytes())


def stored(connector, request: InboundRequest, event_type: str) -> WebhookEvent:
    return WebhookEvent(integration=connector.integration, organization=connector.integration.organization,
                        provider="kiotviet", event_type=event_type, body=request.body)


@pytest.fixture
def synced(kv, kv_sandbox):
    connector = kv(sizes=SIZES)
    run_sync(connector, ["branches", "categories", "products", "stock", "customers"], full=True)
    kv_sandbox.control(connector, "update", entity="products", ids=[1000007], fields={"name": "Đổi từ webhook"})
    kv_sandbox.control(connector, "delete", entity="products", ids=[1000008, 1000009])
    kv_sandbox.control(connector, "update", entity="stock", ids=[1000005], fields={"3101": 3})
    kv_sandbox.control(connector, "update", entity="customers", ids=[70002], fields={"name": "Nguyễn Văn A"})
    return connector


RESULTS = {
    "product.update": lambda c: Product.objects.get(integration=c.integration, external_id="1000007").name
    == "Đổi từ webhook",
    "product.delete": lambda c: Product.objects.get(integration=c.integration, external_id="1000008").deleted_at
    is not None,
    "product.delete-removeid": lambda c: Product.objects.get(integration=c.integration,
                                                             external_id="1000009").deleted_at is not None,
    "stock.update": lambda c: StockLevel.objects.get(integration=c.integration, external_id="1000005:3101").quantity
    == 3,
    "customer.update": lambda c: Customer.objects.get(integration=c.integration, external_id="70002").name
    == "Nguyễn Văn A",
}


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_fixture_event_verifies_and_is_handled(synced, name):
    request = delivery(name)

    verified = synced.verify_webhook(request, WEBHOOK_SECRET)

    payload = json.loads(request.body)
    assert verified.event_id == payload["Id"] and verified.event_type == name.split("-")[0]
    assert not RESULTS[name](synced)
    handle(synced, stored(synced, request, verified.event_type))
    assert RESULTS[name](synced)


def test_the_connector_returns_the_records_and_writes_none(synced):
    """The provider reads; the webhooks app writes what it returned (processing.handle)."""
    event = stored(synced, delivery("product.update"), "product.update")

    outcome = synced.handle_webhook(event)

    assert isinstance(outcome, WebhookOutcome)
    assert outcome.upserts["records.Product"]["1000007"].fields["name"] == "Đổi từ webhook"
    assert outcome.upserts["records.ProductRelation"]
    assert Product.objects.get(integration=synced.integration, external_id="1000007").name != "Đổi từ webhook"


def test_stock_at_a_branch_opened_since_the_sync_creates_its_location(synced, kv_sandbox):
    kv_sandbox.control(synced, "set_sizes", sizes={"branches": 3})  # a third branch opens at KiotViet
    request = delivery("stock.update")
    assert not Location.objects.filter(integration=synced.integration, external_id="3103").exists()

    outcome = handle(synced, stored(synced, request, "stock.update"))

    assert "1 new branch(es) created" in outcome
    assert Location.objects.get(integration=synced.integration, external_id="3103").name
    assert StockLevel.objects.filter(integration=synced.integration, external_id="1000005:3103").exists()


def test_an_event_we_do_not_handle_is_ignored(kv):
    connector = kv()
    request = delivery("order.update")
    assert connector.verify_webhook(request, WEBHOOK_SECRET).event_type == "order.update"
    with pytest.raises(IgnoredEvent):
        connector.handle_webhook(stored(connector, request, "order.update"))


@pytest.mark.parametrize("variant", ["hex", "sha256=hex", "base64", "decoded-key"])
def test_signature_variants_kiotviet_may_send_all_verify(kv, variant):
    body = (FIXTURES / "product.update.json").read_bytes()
    key = base64.b64decode(WEBHOOK_SECRET) if variant == "decoded-key" else WEBHOOK_SECRET.encode()
    digest = hmac.new(key, body, hashlib.sha256).digest()
    header = {"hex": digest.hex(), "sha256=hex": "sha256=" + digest.hex(), "base64": base64.b64encode(digest).decode(),
              "decoded-key": digest.hex()}[variant]
    request = InboundRequest(headers={"x-hub-signature": header}, body=body)
    assert kv().verify_webhook(request, WEBHOOK_SECRET).event_type == "product.update"


def test_a_wrong_signature_or_none_is_refused(kv):
    body = (FIXTURES / "product.update.json").read_bytes()
    connector = kv()
    with pytest.raises(SignatureError):
        connector.verify_webhook(signed(body, secret="d3Jvbmctc2VjcmV0"), WEBHOOK_SECRET)
    with pytest.raises(SignatureError):
        connector.verify_webhook(InboundRequest(headers={}, body=body), WEBHOOK_SECRET)
    with pytest.raises(SignatureError):
        connector.verify_webhook(signed(body), "")


class KiotVietSender(Sender):
    @property
    def url(self) -> str:
        return f"/api/webhooks/kiotviet?token={self.integration.webhook_key}"


def _sign(body: bytes, secret: str, *, timestamp: int, msg_id: str) -> dict[str, str]:
    return {"X-Hub-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


class TestKiotVietWebhookSecurity(WebhookSecurityContract):
    """The shared contract, posted to the KiotViet URL; rejections answer 200 so KiotViet keeps the hook."""

    reject_status = 200

    @pytest.fixture
    def wh(self, org):
        from integrations.models import Integration

        integration = Integration.objects.create(
            organization=org, name="kv", code="kv", provider="kiotviet",
            credentials={"client_id": "a", "client_secret": "a-secret", "retailer": "shop"},
            webhook_secret=WEBHOOK_SECRET)
        return KiotVietSender(integration=integration, secret=WEBHOOK_SECRET, sign=_sign)


def test_the_kiotviet_url_needs_a_known_token(client):
    assert client.post("/api/webhooks/kiotviet?token=nope", b"{}", content_type="application/json").status_code == 404
    assert client.get("/api/webhooks/kiotviet").status_code == 405
