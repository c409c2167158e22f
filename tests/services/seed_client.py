"""A client of the services routes written from the services API document alone, and its checks.

It knows only what the document says: the base ``/api/integrations``, a bearer token, the request bodies
of its examples and the shapes of its answers (``{"success": true, "data": ...}``; errors ``{"success":
false, "message", "error"}`` with 400/401/403/500). The test suite runs it against a seeded demo
organization in-process (``test_seed_contract.py``); run it against a live hub (``make run``) with::

    python tests/services/seed_client.py http://127.0.0.1:8000 <admin API key> <viewer API key>
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import requests

SERVICES = ("email", "sms", "payment", "kafka", "fileStorage", "externalAPI")
HEALTH = {"healthy", "unhealthy", "error"}


class ContractError(AssertionError):
    pass


def check(condition: Any, what: str) -> None:
    if not condition:
        raise ContractError(what)


class SeedClient:
    def __init__(self, base_url: str, token: str | None, tenant: str = "demo"):
        self.base = base_url.rstrip("/") + "/api/integrations"
        self.session = requests.Session()
        self.session.headers["X-Tenant-ID"] = tenant  # the document asks for the tenant in a header
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        resp = self.session.request(method, self.base + path, json=body, timeout=30)
        try:
            return resp.status_code, resp.json()
        except ValueError:
            raise ContractError(f"{method} {path}: {resp.status_code}, not JSON: {resp.text[:200]}") from None

    def data(self, method: str, path: str, body: dict | None = None) -> Any:
        code, payload = self.call(method, path, body)
        check(200 <= code < 300, f"{method} {path}: HTTP {code}: {payload}")
        check(payload.get("success") is True and "data" in payload, f"{method} {path}: no success envelope")
        return payload["data"]


def error_shape(code: int, payload: dict, expected: int, what: str) -> None:
    check(code == expected, f"{what}: HTTP {code}, expected {expected}: {payload}")
    check(payload.get("success") is False, f"{what}: success is not false")
    check(isinstance(payload.get("message"), str) and payload["message"], f"{what}: no message")
    check(isinstance(payload.get("error"), str) and payload["error"], f"{what}: no error detail")


def run(base_url: str, admin_token: str, viewer_token: str, log: Callable[[str], None] = print) -> int:
    """Exercise every documented route; return how many checks passed (raise ContractError on the first miss)."""
    api = SeedClient(base_url, admin_token)
    passed = 0

    def ok(what: str) -> None:
        nonlocal passed
        passed += 1
        log(f"ok  {what}")

    status = api.data("GET", "/status")
    for key in ("total", "healthy", "unhealthy", "error"):
        check(isinstance(status.get(key), int), f"status.{key}")
    check(status["healthy"] + status["unhealthy"] + status["error"] == status["total"], "status counts add up")
    for name in SERVICES:
        svc = status["services"].get(name)
        check(isinstance(svc, dict) and svc.get("status") in HEALTH and svc.get("name") and svc.get("type"),
              f"status.services.{name}: {svc}")
    ok(f"GET /status  total={status['total']} healthy={status['healthy']} unhealthy={status['unhealthy']} "
       f"error={status['error']}")

    health = api.data("GET", "/health")
    for name in SERVICES:
        entry = health.get(name)
        check(isinstance(entry, dict) and entry.get("status") in HEALTH, f"health.{name}: {entry}")
        check("details" in entry or "error" in entry, f"health.{name}: neither details nor error")
    ok("GET /health  " + " ".join(f"{n}={health[n]['status']}" for n in SERVICES))

    for name in SERVICES:
        one = api.data("GET", f"/health/{name}")
        check(one.get("serviceName") == name and one.get("status") in HEALTH and isinstance(one.get("details"), dict),
              f"health/{name}: {one}")
        ok(f"GET /health/{name}  {one['status']}")

    for name in SERVICES:
        info = api.data("GET", f"/services/{name}")
        check(isinstance(info.get("name"), str) and isinstance(info.get("type"), str), f"services/{name}: name/type")
        check(isinstance(info.get("status"), str) and isinstance(info.get("dependencies"), list),
              f"services/{name}: status/dependencies: {info}")
        ok(f"GET /services/{name}  {info['name']} ({info['type']}) {info['status']}")

    metrics = api.data("GET", "/metrics")
    check(isinstance(metrics["email"]["transporters"], list) and isinstance(metrics["email"]["templates"], list)
          and isinstance(metrics["email"]["status"], str), "metrics.email")
    check(isinstance(metrics["sms"]["providers"], list) and isinstance(metrics["sms"]["templates"], list)
          and isinstance(metrics["sms"]["status"], str), "metrics.sms")
    check("low_stock_alert" in metrics["email"]["templates"], "metrics.email.templates has low_stock_alert")
    ok(f"GET /metrics  email.transporters={metrics['email']['transporters']} "
       f"sms.providers={metrics['sms']['providers']}")

    init = api.data("POST", "/initialize")
    check(all(init.get(n, {}).get("status") == "initialized" for n in SERVICES), f"initialize: {init}")
    ok("POST /initialize")
    down = api.data("POST", "/shutdown")
    check(all(down.get(n, {}).get("status") == "shutdown" for n in SERVICES), f"shutdown: {down}")
    api.data("POST", "/initialize")  # leave the organization publishing
    ok("POST /shutdown (then /initialize again)")

    sent = api.data("POST", "/test/notification", {
        "type": "email", "recipients": [{"name": "Test User", "email": "test@example.com", "phone": "+1234567890"}],
        "template": "custom",
        "data": {"subject": "Test Notification", "message": "This is a test notification from Smart Inventory ERP"}})
    check(sent.get("success") is True and sent.get("messageId") and sent.get("transporter"),
          f"test/notification: {sent}")
    ok(f"POST /test/notification  messageId={sent['messageId']} transporter={sent['transporter']}")
    sms = api.data("POST", "/test/notification", {
        "type": "sms", "recipients": [{"name": "Test User", "email": "test@example.com", "phone": "+447911123456"}],
        "template": "critical_alert", "data": {"title": "Freezer", "message": "Temperature above -10C"}})
    check(sms.get("success") is True and sms.get("messageId"), f"test/notification sms: {sms}")
    ok(f"POST /test/notification (sms)  transporter={sms['transporter']}")

    paid = api.data("POST", "/test/payment",
                    {"amount": 10.00, "currency": "USD", "gateway": "stripe", "orderId": "test_order_123"})
    check(paid.get("success") is True and isinstance(paid.get("transactionId"), str) and paid.get("status"),
          f"test/payment: {paid}")
    check(paid.get("amount") == 10.00 and paid.get("currency") == "USD" and paid.get("gateway") == "stripe",
          f"test/payment amount/currency/gateway: {paid}")
    ok(f"POST /test/payment  transactionId={paid['transactionId']} status={paid['status']} amount={paid['amount']}")

    event = api.data("POST", "/test/event", {
        "topic": "inventory-events", "eventType": "inventory.stock.updated",
        "data": {"itemId": "item_123", "warehouseId": "warehouse_456", "oldQuantity": 100, "newQuantity": 80,
                 "transactionType": "SALE"}})
    check(event.get("success") is True and "partition" in event and "offset" in event, f"test/event: {event}")
    ok(f"POST /test/event  partition={event['partition']} offset={event['offset']}")

    stored = api.data("POST", "/test/file", {"fileName": "test-document.pdf", "fileType": "document",
                                             "category": "test"})
    for key in ("fileId", "fileName", "fileKey", "url", "size", "contentType", "provider", "uploadedAt"):
        check(key in stored, f"test/file: no {key}: {stored}")
    check(stored["fileName"] == "test-document.pdf" and stored["contentType"] == "application/pdf"
          and stored["size"] > 0, f"test/file: {stored}")
    ok(f"POST /test/file  fileKey={stored['fileKey']} provider={stored['provider']} size={stored['size']}")

    synced = api.data("POST", "/test/sync", {"dataType": "suppliers", "options": {"supplierId": "supplier_123"}})
    check(synced.get("success") is True and isinstance(synced.get("count"), int)
          and isinstance(synced.get("suppliers"), list) and synced["count"] == len(synced["suppliers"]),
          f"test/sync: {synced}")
    everyone = api.data("POST", "/test/sync", {"dataType": "suppliers", "options": {}})
    check(everyone["count"] == len(everyone["suppliers"]), "test/sync without a supplierId")
    ok(f"POST /test/sync  supplier_123: count={synced['count']}; all suppliers: count={everyone['count']}")

    # Errors: one shape on every route.
    error_shape(*SeedClient(base_url, None).call("GET", "/status"), 401, "no token")
    error_shape(*SeedClient(base_url, "ihk_not-a-real-key").call("GET", "/health"), 401, "a wrong token")
    viewer = SeedClient(base_url, viewer_token)
    check(viewer.data("GET", "/status")["total"] == status["total"], "a viewer reads the status")
    error_shape(*viewer.call("POST", "/test/notification", {"type": "email", "recipients": []}), 403,
                "a viewer sends a notification")
    ok("401 without / with a wrong token, 403 for a viewer's POST")
    for path, body in (("/test/notification", {"type": "pigeon", "recipients": [{"email": "a@example.com"}]}),
                       ("/test/notification", {"type": "email", "recipients": [{"name": "no address"}]}),
                       ("/test/notification", {"type": "sms", "recipients": [{"phone": "+1234567890"}]}),
                       ("/test/payment", {"amount": "ten", "currency": "USD", "gateway": "stripe"}),
                       ("/test/payment", {"amount": 10.001, "currency": "USD", "gateway": "stripe"}),
                       ("/test/event", {"topic": "t", "eventType": "bad type!", "data": {}}),
                       ("/test/file", {"fileName": "virus.exe", "fileType": "document", "category": "test"}),
                       ("/test/sync", {"dataType": "spaceships", "options": {}}),
                       ("/test/sync", {"dataType": "suppliers", "options": "all"})):
        error_shape(*api.call("POST", path, body), 400, f"bad input to {path}: {body}")
    ok("400 for bad input on every test route")
    code, payload = api.call("GET", "/health/teleport")
    check(code == 404 and payload.get("success") is False and payload.get("message") and payload.get("error"),
          f"an unknown service: {code} {payload}")
    ok("404 for an unknown service, in the error shape")
    return passed


if __name__ == "__main__":
    total = run(*sys.argv[1:4])
    print(f"{total} checks passed")
