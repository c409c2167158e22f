"""Random JSON at every hub POST route: a 2xx or a 4xx in the envelope, never a 500."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.postgres]

ROUTES = ["test/notification", "test/event", "test/file", "test/sync", "test/payment", "initialize", "shutdown"]
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=30))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10),
                                                                                        inner, max_size=4),
                    max_leaves=12)
KEYS = st.sampled_from(["channel", "to", "recipients", "template", "context", "idempotency_key", "message",
                        "name", "content", "content_base64", "content_type", "kind", "integration", "streams",
                        "full",
                        # the services API document's names
                        "type", "data", "topic", "eventType", "fileName", "fileType", "category", "dataType",
                        "options", "amount", "currency", "gateway", "orderId"])
BODIES = JSON | st.dictionaries(KEYS, JSON, max_size=6)


# A fixed seed, as tests/test_api_fuzz.py: the same bodies every run; FUZZ_SEED / FUZZ_MAX_EXAMPLES vary it.
@pytest.mark.parametrize("route", ROUTES)
@seed(int(os.environ.get("FUZZ_SEED", "1313")))
@settings(max_examples=int(os.environ.get("FUZZ_MAX_EXAMPLES", "40")), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_no_input_is_a_server_error(route, body, org, api, settings_files):
    resp = api.post(f"/api/integrations/{route}", body, format="json")
    assert resp.status_code < 500, (resp.status_code, resp.content[:300])
    assert resp.json()["success"] is (resp.status_code < 400)


@pytest.fixture
def settings_files(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "hub_files": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}


# The services API document's example bodies, with any of their fields (or a recipient's) replaced at random.
DOCUMENTED = {
    "test/notification": {"type": "email", "recipients": [{"name": "T", "email": "t@example.com", "phone": "+44791"}],
                          "template": "custom", "data": {"subject": "s", "message": "m"}},
    "test/payment": {"amount": 10.00, "currency": "USD", "gateway": "stripe", "orderId": "test_order_123"},
    "test/event": {"topic": "inventory-events", "eventType": "inventory.stock.updated", "data": {"itemId": "i"}},
    "test/file": {"fileName": "test-document.pdf", "fileType": "document", "category": "test"},
    "test/sync": {"dataType": "suppliers", "options": {"supplierId": "supplier_123"}},
}


@pytest.mark.parametrize("route", sorted(DOCUMENTED))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_documented_bodies_with_any_field_changed_are_never_a_server_error(route, data, org, api,
                                                                               settings_files):
    body = dict(DOCUMENTED[route])
    key = data.draw(st.sampled_from(sorted(body)))
    value = data.draw(JSON)
    if key == "recipients" and data.draw(st.booleans()):
        value = [{**body["recipients"][0], data.draw(st.sampled_from(["name", "email", "phone"])): value}]
    elif key in ("data", "options") and data.draw(st.booleans()):
        value = {**body[key], data.draw(st.sampled_from(["supplierId", "limit", "integration", "refresh", "id",
                                                         "message", "subject"])): value}
    body[key] = value
    resp = api.post(f"/api/integrations/{route}", body, format="json")
    assert resp.status_code < 500, (body, resp.status_code, resp.content[:300])
    answer = resp.json()
    assert answer["success"] is (resp.status_code < 400)
    if resp.status_code >= 400:
        assert isinstance(answer["message"], str) and isinstance(answer["error"], str)
