"""Demo Store webhooks: each fixture payload, signed, verifies and produces its result."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from connectors.base import InboundRequest
from connectors.errors import IgnoredEvent
from connectors.signatures import sign_standard_webhooks
from records.models import Product, StockLevel
from tests.connectors.conftest import WEBHOOK_SECRET
from tests.connectors.demo.test_connector import SIZES, sync
from webhooks.processing import handle

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[3] / "connectors" / "demo" / "fixtures"


def delivery(name: str) -> InboundRequest:
    body = (FIXTURES / f"{name}.json").read_bytes()
    headers = sign_standard_webhooks(f"msg_{name}", int(time.time()), body, WEBHOOK_SECRET)
    return InboundRequest(headers=headers, body=body, content_type="application/json")


def stored(connector, request: InboundRequest, event_type: str):
    from webhooks.models import WebhookEvent

    return WebhookEvent(integration=connector.integration, organization=connector.integration.organization,
                        provider="demo", event_type=event_type, body=request.body)


@pytest.fixture
def synced(demo, sandbox):
    connector = demo(sizes=SIZES)
    sync(connector, full=True)
    sandbox.control(connector.client_id, "update", entity="products", ids=[7], fields={"name": "From the event"})
    sandbox.control(connector.client_id, "delete", entity="products", ids=[8])
    sandbox.control(connector.client_id, "update", entity="stock", ids=[5001], fields={"quantity": "3.000"})
    return connector


RESULTS = {
    "product.updated": lambda c: Product.objects.get(integration=c.integration, external_id="7").name
    == "From the event",
    "product.deleted": lambda c: Product.objects.get(integration=c.integration, external_id="8").deleted_at
    is not None,
    "stock.updated": lambda c: StockLevel.objects.get(integration=c.integration, external_id="5001").quantity == 3,
}


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_fixture_event_verifies_and_is_handled(synced, name):
    request = delivery(name)

    verified = synced.verify_webhook(request, WEBHOOK_SECRET)

    assert verified.event_id == f"msg_{name}" and verified.event_type == name
    assert not RESULTS[name](synced)
    handle(synced, stored(synced, request, name))
    assert RESULTS[name](synced)


def test_unhandled_event_is_ignored(demo):
    connector = demo()
    request = delivery("customer.updated")

    assert connector.verify_webhook(request, WEBHOOK_SECRET).event_type == "customer.updated"
    with pytest.raises(IgnoredEvent):
        connector.handle_webhook(stored(connector, request, "customer.updated"))


def test_rotated_secrets_both_verify(demo):
    old = "whsec_" + "b2xkLXNlY3JldC1rZXktZm9yLXJvdGF0aW9u"
    assert demo().verify_webhook(delivery("product.updated"), f"{old} {WEBHOOK_SECRET}").event_id


def test_sandbox_change_reaches_the_hub_receiver_and_is_processed(synced, sandbox, live_server):
    """Sandbox -> signed POST to the hub's receiver -> stored -> processed -> record updated."""
    from webhooks.models import WebhookEvent
    from webhooks.processing import process_batch

    integration = synced.integration
    url = f"{live_server.url}/api/webhooks/receive/{integration.webhook_key}"
    sandbox.control(synced.client_id, "set_webhook", url=url, secret=WEBHOOK_SECRET)

    sandbox.control(synced.client_id, "update", entity="products", ids=[12], fields={"name": "Pushed by webhook"})
    sent = sandbox.control(synced.client_id, "send_webhook", type="product.updated", id=12, webhook_id="msg_twice")
    again = sandbox.control(synced.client_id, "send_webhook", type="product.updated", id=12, webhook_id="msg_twice")

    assert sent["status"] == 200 and again["status"] == 200
    events = WebhookEvent.objects.filter(integration=integration)
    assert events.count() == 2  # the automatic one and msg_twice once (its repeat is a duplicate)
    process_batch()
    assert set(events.values_list("status", flat=True)) == {"completed"}
    assert Product.objects.get(integration=integration, external_id="12").name == "Pushed by webhook"

    tampered = sandbox.control(synced.client_id, "send_webhook", type="product.updated", id=12,
                               secret="whsec_" + "d3Jvbmcta2V5LXdyb25nLWtleQ==")
    assert tampered["status"] == 401
    rejected = events.get(status="rejected")
    assert json.loads(bytes(rejected.body))["data"] == {"id": 12} and rejected.rejection_reason
