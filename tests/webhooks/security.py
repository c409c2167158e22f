"""One shared security test base for inbound webhooks: every provider's webhook tests reuse it.

Subclass ``WebhookSecurityContract`` and provide:
- a fixture ``wh`` returning a ``Sender``: the integration under test plus how to sign for it;
- class attributes ``signs_timestamp`` (the scheme carries a timestamp with a tolerance) and
  ``delivery_id_in_headers`` (the scheme sends an id that stays the same on redelivery).

Each test posts through the real receive view (Django test client, real PostgreSQL) and checks
the answer *and* what was stored: a rejected delivery is stored as rejected with a reason and never
processed; an accepted one is pending; a replay is answered 2xx and not stored twice.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from webhooks.models import EventStatus, WebhookEvent
from webhooks.processing import process_batch

Signer = Callable[..., dict[str, str]]  # (body, secret, *, timestamp, msg_id) -> headers


@dataclass
class Sender:
    integration: object
    secret: str
    sign: Signer
    content_type: str = "application/json"
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"/api/webhooks/receive/{self.integration.webhook_key}"

    def headers(self, body: bytes, secret: str | None = None, timestamp: int | None = None,
                msg_id: str | None = None) -> dict[str, str]:
        signed = self.sign(body, secret or self.secret, timestamp=timestamp or int(time.time()),
                           msg_id=msg_id or f"msg_{uuid.uuid4().hex}")
        return {**self.extra_headers, **signed}

    def post(self, client, body: bytes, headers: dict[str, str]):
        return client.post(self.url, body, content_type=self.content_type, headers=headers)


def sample_body(**extra) -> bytes:
    payload = {"id": f"evt_{uuid.uuid4().hex}", "type": "order.created", "data": {"total": 1}, **extra}
    return json.dumps(payload).encode()


@pytest.mark.django_db
class WebhookSecurityContract:
    signs_timestamp = False
    delivery_id_in_headers = False
    reject_status = 401

    def _assert_rejected(self, wh: Sender, response, reason_part: str) -> None:
        assert response.status_code == self.reject_status, response.content
        assert response.json()["error"]["code"] == "invalid_signature"
        event = WebhookEvent.objects.get(integration=wh.integration)
        assert event.status == EventStatus.REJECTED
        assert event.dedupe_key is None
        assert reason_part in event.rejection_reason
        assert process_batch().processed == 0  # never processed

    def test_valid_delivery_is_stored_pending(self, client, wh: Sender):
        body = sample_body()
        response = wh.post(client, body, wh.headers(body))
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "accepted"
        event = WebhookEvent.objects.get(integration=wh.integration)
        assert (event.status, bytes(event.body)) == (EventStatus.PENDING, body)

    def test_missing_signature_is_rejected(self, client, wh: Sender):
        body = sample_body()
        response = wh.post(client, body, dict(wh.extra_headers))
        self._assert_rejected(wh, response, "")

    def test_wrong_secret_is_rejected(self, client, wh: Sender):
        body = sample_body()
        wrong = "whsec_" + "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==" if wh.secret.startswith("whsec_") else "wrong-secret"
        response = wh.post(client, body, wh.headers(body, secret=wrong))
        self._assert_rejected(wh, response, "does not match")

    def test_tampered_body_is_rejected(self, client, wh: Sender):
        body = sample_body()
        headers = wh.headers(body)
        response = wh.post(client, body.replace(b'"total": 1', b'"total": 9'), headers)
        self._assert_rejected(wh, response, "does not match")

    def test_stale_timestamp_is_rejected(self, client, wh: Sender):
        if not self.signs_timestamp:
            pytest.skip("this scheme signs no timestamp (replays are caught by deduplication)")
        body = sample_body()
        response = wh.post(client, body, wh.headers(body, timestamp=int(time.time()) - 3600))
        self._assert_rejected(wh, response, "tolerance")

    def test_replayed_delivery_is_answered_once_and_stored_once(self, client, wh: Sender):
        body = sample_body()
        headers = wh.headers(body)
        first = wh.post(client, body, headers)
        replays = [wh.post(client, body, headers) for _ in range(2)]
        assert first.status_code == 200 and first.json()["status"] == "accepted"
        assert [r.status_code for r in replays] == [200, 200]
        assert {r.json()["status"] for r in replays} == {"duplicate"}
        event = WebhookEvent.objects.get(integration=wh.integration)
        assert event.duplicates == 2
        assert process_batch().processed == 1
        assert process_batch().processed == 0

    def test_redelivery_with_same_id_is_a_duplicate(self, client, wh: Sender):
        if not self.delivery_id_in_headers:
            pytest.skip("this scheme sends no delivery id: the body hash deduplicates")
        body = sample_body()
        msg_id = f"msg_{uuid.uuid4().hex}"
        first = wh.post(client, body, wh.headers(body, msg_id=msg_id))
        # A redelivery is signed again (new timestamp) but keeps its id.
        again = wh.post(client, body, wh.headers(body, msg_id=msg_id, timestamp=int(time.time()) - 5))
        assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate")
        assert WebhookEvent.objects.get(integration=wh.integration).dedupe_key == msg_id
