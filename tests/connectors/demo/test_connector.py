"""The Demo Store connector end to end against its sandbox: records, write-back, webhooks."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.exceptions import ValidationError

from connectors.base import InboundRequest, SyncContext
from connectors.demo import DemoConnector
from connectors.errors import FatalError, IgnoredEvent, RejectedPayload, SignatureError
from connectors.registry import get_connector_class
from records.models import Category, Order, OrderLine, Product, StockLevel
from records.upsert import mark_deleted, upsert_rows
from tests.connectors.conftest import WEBHOOK_SECRET
from webhooks.processing import handle

pytestmark = pytest.mark.django_db

SIZES = {"locations": 3, "categories": 7, "products": 23, "customers": 11, "orders": 12}
ORDER = ("locations", "categories", "products", "stock-levels", "customers", "orders")


def sync(connector, cursors=None, full=False):
    """A minimal runner: each stream's pages upserted in dependency order; returns the new cursors."""
    ctx = SyncContext(integration=connector.integration, connector=connector, http=connector.http)
    cursors = dict(cursors or {})
    for name in ORDER:
        stream = connector.streams[name]
        for page in stream.read(ctx, cursors.get(name), full):
            result = upsert_rows(connector.integration, stream.model, [stream.map(r) for r in page.records])
            assert result.failed == 0, result.errors
            for model, rows in page.extra.items():
                assert upsert_rows(connector.integration, model, rows).failed == 0
            mark_deleted(connector.integration, stream.model, page.deleted_ids)
            cursors[name] = page.cursor
    return cursors


def test_registered_with_its_schemas():
    assert get_connector_class("demo") is DemoConnector
    assert DemoConnector.all_secret_fields() == ("client_id", "client_secret")
    assert DemoConnector.validate_config({}) == {"page_size": 100, "price_list": "retail", "token_url": ""}
    with pytest.raises(ValidationError):
        DemoConnector.validate_config({"page_size": 500})
    with pytest.raises(ValidationError):
        DemoConnector.validate_credentials({"client_id": "x"})


def test_test_connection(demo):
    assert "read 1 product" in demo().test_connection()


def test_full_then_incremental_sync_into_records(demo, sandbox):
    connector = demo(sizes=SIZES, config={"page_size": 10, "price_list": "wholesale"})
    cursors = sync(connector, full=True)

    integration = connector.integration
    assert Product.objects.filter(integration=integration).count() == 23
    assert StockLevel.objects.filter(integration=integration).count() == 69
    assert OrderLine.objects.filter(integration=integration).count() >= 12
    assert not Product.objects.filter(integration=integration, category=None).exists()
    assert not Category.objects.filter(integration=integration, sync_status="error").exists()
    roots = Category.objects.filter(integration=integration, parent=None).count()
    assert roots == 1  # 7 // 5 roots; every other category hangs under one
    first = Product.objects.get(integration=integration, external_id="1")
    assert first.price == Decimal(first.prices["wholesale"]) and first.category.integration_id == integration.pk
    order = Order.objects.get(integration=integration, external_id="1")
    assert order.customer and order.location and order.lines.count() == len(order.payload["lines"])

    sandbox.control(connector.client_id, "update", entity="products", ids=[4])
    sandbox.control(connector.client_id, "delete", entity="products", ids=[9])
    before = Product.objects.get(integration=integration, external_id="1").updated_at
    sync(connector, cursors)

    assert "(v2)" in Product.objects.get(integration=integration, external_id="4").name
    assert Product.objects.get(integration=integration, external_id="9").deleted_at is not None
    assert StockLevel.objects.filter(integration=integration, deleted_at__isnull=False).count() == 3
    assert Product.objects.get(integration=integration, external_id="1").updated_at == before


def test_push_creates_then_updates_a_product(demo):
    connector = demo(sizes=SIZES)
    sync(connector, full=True)
    category = Category.objects.get(integration=connector.integration, external_id="3")
    product = Product(organization=connector.integration.organization, name="Hub Tea", sku="HUB-1", unit="box",
                      price="4.50", category=category)

    external_id = connector.push("products", product)

    created = connector.http.get_json(f"api/products/{external_id}", action="t")
    assert int(external_id) >= 1_000_000
    assert created["name"] == "Hub Tea" and created["category_id"] == 3 and created["prices"]["retail"] == "4.50"
    bound = Product.objects.get(integration=connector.integration, external_id="2")
    bound.name = "Renamed in the hub"
    assert connector.push("products", bound) == "2"
    assert connector.http.get_json("api/products/2", action="t")["name"] == "Renamed in the hub"


def test_push_validation_errors_are_fatal_with_details(demo):
    connector = demo(sizes=SIZES)

    with pytest.raises(FatalError) as exc:
        connector.push("products", {"name": "", "category_id": 999, "prices": {"retail": "-1"}})

    assert exc.value.status_code == 422
    for field in ("name", "category_id", "prices"):
        assert field in exc.value.message
    assert exc.value.response.json()["errors"]["category_id"] == ["no category 999"]


class Capture:
    """A tiny HTTP endpoint that stores what a webhook sender posts."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                capture.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def capture():
    cap = Capture()
    yield cap
    cap.httpd.shutdown()
    cap.httpd.server_close()


def inbound(headers, body):
    return InboundRequest(headers=headers, body=body, content_type="application/json")


def test_sandbox_webhooks_verify_and_tampering_is_refused(demo, sandbox, capture):
    connector = demo(sizes=SIZES)
    sandbox.control(connector.client_id, "set_webhook", url=capture.url, secret=WEBHOOK_SECRET)

    sandbox.control(connector.client_id, "update", entity="products", ids=[7])
    sandbox.control(connector.client_id, "delete", entity="products", ids=[8])
    sandbox.control(connector.client_id, "update", entity="stock", ids=[5002])

    assert [json.loads(b)["type"] for _, b in capture.received] == ["product.updated", "product.deleted",
                                                                     "stock.updated"]
    headers, body = capture.received[0]
    delivery = connector.verify_webhook(inbound(headers, body), WEBHOOK_SECRET)
    assert delivery.event_id == headers["webhook-id"] and delivery.event_type == "product.updated"
    assert json.loads(capture.received[2][1])["data"] == {"id": 5}

    with pytest.raises(SignatureError):
        connector.verify_webhook(inbound(headers, body.replace(b"7", b"6")), WEBHOOK_SECRET)
    with pytest.raises(SignatureError):
        connector.verify_webhook(inbound(headers, body), "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    with pytest.raises(SignatureError):
        connector.verify_webhook(inbound(headers, body), "")
    with pytest.raises(SignatureError):
        connector.verify_webhook(inbound({**headers, "webhook-timestamp": str(int(time.time()) - 3600)}, body),
                                 WEBHOOK_SECRET)


def test_signed_payload_that_is_not_an_event_is_rejected(demo):
    from connectors.signatures import sign_standard_webhooks

    body = b'{"hello": "world"}'
    headers = sign_standard_webhooks("msg_1", int(time.time()), body, WEBHOOK_SECRET)

    with pytest.raises(RejectedPayload):
        demo().verify_webhook(inbound(headers, body), WEBHOOK_SECRET)


def event(connector, event_type, data):
    from webhooks.models import WebhookEvent

    return WebhookEvent(integration=connector.integration, organization=connector.integration.organization,
                        provider="demo", event_type=event_type,
                        body=json.dumps({"type": event_type, "data": data}).encode())


def test_handle_webhook_rereads_the_product(demo, sandbox):
    connector = demo(sizes=SIZES)
    sync(connector, full=True)
    sandbox.control(connector.client_id, "update", entity="products", ids=[7], fields={"name": "Changed by event"})
    sandbox.control(connector.client_id, "delete", entity="products", ids=[8])
    sandbox.control(connector.client_id, "update", entity="stock", ids=[5002], fields={"quantity": "77.000"})

    # The connector returns what to write; the webhooks app writes it (processing.handle).
    assert "1 updated" in handle(connector, event(connector, "product.updated", {"id": 7}))
    # Out of order: an "updated" event for a product deleted since then deletes it.
    assert "gone" in handle(connector, event(connector, "product.updated", {"id": 8}))
    handle(connector, event(connector, "stock.updated", {"id": 5}))

    records = Product.objects.filter(integration=connector.integration)
    assert records.get(external_id="7").name == "Changed by event"
    assert records.get(external_id="8").deleted_at is not None
    assert StockLevel.objects.get(integration=connector.integration, external_id="5002").quantity == 77
    with pytest.raises(IgnoredEvent):
        connector.handle_webhook(event(connector, "customer.updated", {"id": 1}))
