"""Bad input to the API is a clear 4xx in the error envelope and a log line, never a 500: bodies over
the request size limit (413) and JSON nested thousands deep (400), on every JSON entry point of the API
(DRF views of /api/v1/ and the services routes /api/integrations/...)."""

from __future__ import annotations

import json
import logging

import pytest

from integrations.jsonlimits import MAX_DEPTH, JSONTooDeep, exceeds_depth, loads
from integrations.models import Integration

pytestmark = pytest.mark.django_db


def nested(depth: int, leaf: object = "x") -> str:
    """A JSON document ``depth`` objects deep."""
    return '{"a":' * depth + json.dumps(leaf) + "}" * depth


def integration_json(**fields) -> str:
    body = {"name": "Shop", "code": "shop", "type": "api", "provider": "demo", "base_url": "https://demo.example",
            "credentials": {"client_id": "id", "client_secret": "secret"}, **fields}
    return json.dumps(body)


def with_deep(field: str, depth: int) -> str:
    """An integration body whose ``field`` object holds a value ``depth`` levels deep."""
    text = integration_json(config={"x": 1})
    return text.replace(f'"{field}": {{', f'"{field}": {{"deep": {nested(depth)}, ', 1)


def post(api, url: str, text: str, method: str = "post"):
    return getattr(api, method)(url, text, content_type="application/json")


def assert_envelope(resp, status: int, code: str) -> None:
    assert resp.status_code == status, resp.content[:500]
    body = resp.json()
    if "success" in body:  # the services routes answer in the services API document's error shape
        assert body["success"] is False and body["message"] and body["error"], body
        assert body["code"] == code
        return
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code


@pytest.mark.parametrize("text", [
    pytest.param(lambda: integration_json(credentials={"client_id": "x" * 5_000_000, "client_secret": "s"}),
                 id="5MB-credential"),
    pytest.param(lambda: integration_json(name="y" * 20_000_000), id="20MB-body"),
])
def test_bodies_over_the_size_limit_are_413_in_the_envelope(api, caplog, text):
    caplog.set_level(logging.WARNING, "integrations.api")
    resp = post(api, "/api/v1/integrations", text())
    assert_envelope(resp, 413, "payload_too_large")
    assert "2621440 bytes" in resp.json()["error"]["message"]
    assert "refused an oversized body: POST /api/v1/integrations" in caplog.text
    assert not Integration.objects.exists()


def test_oversized_update_and_services_route_are_413(api, caplog, make_integration, org):
    integ = make_integration(org)
    big = json.dumps({"credentials": {"client_secret": "z" * 3_000_000}})
    assert_envelope(post(api, f"/api/v1/integrations/{integ.pk}", big, "patch"), 413, "payload_too_large")
    assert_envelope(post(api, "/api/integrations/test/notification", big), 413, "payload_too_large")
    assert_envelope(post(api, "/api/v1/payments", big), 413, "payload_too_large")


@pytest.mark.parametrize("field", ["credentials", "config"])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 5_000, 10_000])
def test_json_nested_too_deep_is_400(api, caplog, field, depth):
    caplog.set_level(logging.WARNING, "integrations.api")
    resp = post(api, "/api/v1/integrations", with_deep(field, depth))
    assert_envelope(resp, 400, "parse_error")
    assert f"nested deeper than {MAX_DEPTH} levels" in resp.json()["error"]["message"]
    assert "refused a JSON body nested deeper than" in caplog.text
    assert not Integration.objects.exists()


def test_json_within_the_limit_is_accepted(api):
    resp = post(api, "/api/v1/integrations", with_deep("config", MAX_DEPTH - 5))
    assert resp.status_code == 201, resp.content[:500]


@pytest.mark.parametrize("url", ["/api/integrations/test/notification", "/api/integrations/test/event",
                                 "/api/integrations/test/sync", "/api/v1/payments", "/api/v1/event-destinations",
                                 "/api/integrations/test/payment"])
def test_every_json_route_refuses_deep_json_with_400(api, url):
    assert_envelope(post(api, url, nested(10_000)), 400, "parse_error")


def test_loads_limits_depth_without_recursion():
    assert loads(nested(3)) == {"a": {"a": {"a": "x"}}}
    assert loads(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')
    for depth in (MAX_DEPTH + 1, 900, 10_000, 100_000):
        with pytest.raises(JSONTooDeep):
            loads(nested(depth).encode())
        with pytest.raises(ValueError):  # handled wherever bad JSON already is
            loads(nested(depth))
    assert not exceeds_depth(json.loads(nested(MAX_DEPTH - 1)))
    assert exceeds_depth(json.loads("[" * 200 + "]" * 200))
