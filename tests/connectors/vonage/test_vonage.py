"""Vonage through its sandbox: HTTP 200 with a per-message status, mapped to our error kinds."""

from __future__ import annotations

import pytest

from connectors.errors import AuthError, RateLimitedError
from connectors.messaging import RecipientRejected
from tests.services.sms import connector_for, control, sms

pytestmark = [pytest.mark.redis]


@pytest.fixture
def vonage(make_integration, live_server):
    control(live_server, "vonage", "acme-key", action="reset")
    return make_integration(f"{live_server.url}/sandbox/vonage", provider="vonage", code="vonage", type="sms",
                            credentials={"api_key": "acme-key", "api_secret": "acme-key-secret"},
                            config={"sender": "AcmeShop"})


def test_send_strips_the_plus_and_returns_the_message_id(vonage, live_server):
    message_id = connector_for(vonage).send(sms())
    (sent,) = control(live_server, "vonage", "acme-key", action="outbox")["outbox"]
    assert sent["id"] == message_id and sent["to"] == "447911123456" and sent["client-ref"] == "msg-1:1"


def test_bad_credentials_status_4_is_an_auth_error(vonage):
    vonage.credentials = {"api_key": "acme-key", "api_secret": "wrong"}
    with pytest.raises(AuthError, match="error 4"):
        connector_for(vonage).send(sms())


def test_throttled_status_1_is_rate_limited(vonage, live_server):
    control(live_server, "vonage", "acme-key", action="fail", status=429, times=1)
    with pytest.raises(RateLimitedError):
        connector_for(vonage).send(sms())


def test_unroutable_number_is_a_recipient_rejection(vonage):
    with pytest.raises(RecipientRejected):
        connector_for(vonage).send(sms(to="+0123456789"))


def test_connection_test_calls_the_provider_and_records_the_outcome(vonage):
    from integrations_api.tasks import run_connection_test

    assert run_connection_test(vonage)["ok"] is True
    vonage.refresh_from_db()
    vonage.credentials = {"api_key": "acme-key", "api_secret": "wrong"}
    vonage.save()
    outcome = run_connection_test(vonage)
    assert outcome["ok"] is False and outcome["message"].startswith("auth")
    vonage.refresh_from_db()
    assert vonage.connection_error and vonage.last_connected_at is not None
