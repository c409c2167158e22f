"""The KiotViet sandbox over real HTTP: KiotViet's token, headers, paging, filters, error bodies, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from connectors.errors import AuthError, FatalError

pytestmark = pytest.mark.django_db


def token(base: str, client_id: str = "app-x", secret: str | None = None) -> requests.Response:
    return requests.post(f"{base}/connect/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": client_id, "scopes": "PublicApi.Access",
        "client_secret": f"{client_id}-secret" if secret is None else secret})


def test_token_endpoint_is_kiotviets(kv_sandbox):
    ok = token(kv_sandbox.base)
    assert ok.status_code == 200 and ok.json()["expires_in"] == 86400 and ok.json()["token_type"] == "Bearer"
    wrong = token(kv_sandbox.base, secret="nope")
    assert wrong.status_code == 400 and wrong.json() == {"error": "invalid_client"}


def test_calls_need_a_token_and_the_retailer_header(kv_sandbox):
    access = token(kv_sandbox.base).json()["access_token"]
    url = f"{kv_sandbox.base}/products"
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 401 and missing.json()["responseStatus"]["errorCode"] == "TokenException"
    no_retailer = requests.get(url, headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert no_retailer.status_code == 400 and "Retailer" in no_retailer.json()["responseStatus"]["message"]
    ok = requests.get(url, headers={"Authorization": f"Bearer {access}", "Retailer": "shopx"}, timeout=10)
    assert ok.status_code == 200 and ok.json()["pageSize"] == 20 and len(ok.json()["data"]) == 20


def test_page_size_is_capped_at_100_and_data_is_deterministic(kv):
    connector = kv(sizes={"products": 250})
    page = connector.get("products", action="t", params={"pageSize": 500, "currentItem": 200})
    again = connector.get("products", action="t", params={"pageSize": 100, "currentItem": 200})
    assert page["total"] == 250 and page["pageSize"] == 100 and len(page["data"]) == 50
    assert page == again
    assert [p["id"] for p in page["data"]][:2] == [1000201, 1000202]
    assert "inventories" not in page["data"][0]  # only with includeInventory=true
    with_stock = connector.get("products", action="t", params={"includeInventory": "true", "pageSize": 1})
    assert with_stock["data"][0]["inventories"][0]["branchId"] == 3101


def test_removed_ids_come_under_each_endpoints_own_name(kv, kv_sandbox):
    connector = kv(sizes={"products": 5, "categories": 5, "branches": 3, "users": 3, "suppliers": 3})
    names = {"products": "removeId", "categories": "removedIds", "branches": "removedIds", "users": "removeIds",
             "suppliers": "removedId"}
    for entity, key in names.items():
        gone = kv_sandbox.control(connector, "delete", entity=entity, count=1)["deleted"]
        body = connector.get(entity, action="t", params={"lastModifiedFrom": "2024-01-01", "includeRemoveIds": "true"})
        assert body[key] == gone, entity


def test_errors_are_servicestack_bodies_and_reach_the_user(kv):
    connector = kv()
    with pytest.raises(FatalError) as exc:
        connector.push("products", {"name": ""})
    assert "KiotViet refused the product: ValidationException: Tên hàng hóa" in exc.value.message
    with pytest.raises(FatalError) as missing:
        connector.get("products/999", action="t")
    assert missing.value.status_code == 404


def test_wrong_credentials_are_an_auth_error(kv):
    connector = kv()
    connector.integration.credentials = {**connector.integration.credentials, "client_secret": "wrong"}
    connector.integration.save()
    with pytest.raises(AuthError, match="invalid_client"):
        connector.test_connection()


def test_test_connection_gets_a_token_and_reads_a_page(kv):
    message = kv(sizes={"branches": 4}).test_connection()
    assert "retailer" in message and "(4 branch(es))" in message


def test_an_expired_token_is_renewed_once(kv, kv_sandbox):
    connector = kv()
    connector.get("branches", action="t")
    kv_sandbox.control(connector, "expire_tokens")
    assert connector.get("branches", action="t")["total"] == 5
    assert kv_sandbox.control(connector, "stats")["token_requests"] == 2


def test_a_token_exception_body_on_another_status_also_renews_the_token(kv, kv_sandbox):
    connector = kv()
    connector.get("branches", action="t")
    kv_sandbox.control(connector, "fault", kind="status", status=400, error_code="TokenException")
    assert connector.get("branches", action="t")["total"] == 5
    assert kv_sandbox.control(connector, "stats")["token_requests"] == 2


class _Hook(BaseHTTPRequestHandler):
    status = 200
    received: list = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args) -> None:
        return


@pytest.fixture
def hook_server():
    _Hook.received, _Hook.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_webhooks_are_registered_signed_and_switched_off_on_4xx(kv, kv_sandbox, hook_server):
    connector = kv(config={"webhook_events": ["product.update", "stock.update"]})
    url = f"http://127.0.0.1:{hook_server.server_port}/hook?token={connector.integration.webhook_key}"
    connector.callback_url = lambda integration: url  # the hub's URL is not reachable from here: a local one
    created = connector.register_webhooks()
    assert sorted(h["type"] for h in created) == ["product.update", "stock.update"]
    # Re-registering replaces (KiotViet allows one hook per type): still two.
    connector.register_webhooks()
    assert len(kv_sandbox.control(connector, "webhooks")["data"]) == 2

    kv_sandbox.control(connector, "update", entity="products", ids=[1000002], fields={"name": "Mới"})
    headers, body = _Hook.received[-1]
    assert headers["X-Hub-Signature"] == hmac.new(connector.integration.webhook_secret.encode(), body,
                                                  hashlib.sha256).hexdigest()
    payload = json.loads(body)
    assert payload["Notifications"][0]["Action"].startswith("product.update.")
    assert payload["Notifications"][0]["Data"][0]["Name"] == "Mới" and payload["Id"]

    _Hook.status = 404  # KiotViet switches off an endpoint that answers 400-405
    kv_sandbox.control(connector, "update", entity="products", ids=[1000003])
    hooks = {h["type"]: h["isActive"] for h in kv_sandbox.control(connector, "webhooks")["data"]}
    assert hooks == {"product.update": False, "stock.update": True}

    assert connector.unregister_webhooks() and kv_sandbox.control(connector, "webhooks")["data"] == []
