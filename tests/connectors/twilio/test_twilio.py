"""Twilio through its sandbox over real HTTP: accepted message, Twilio error codes mapped to our kinds."""

from __future__ import annotations

import pytest

from connectors.errors import AuthError, TransientError
from connectors.messaging import RecipientRejected
from tests.services.sms import connector_for, control, sms

pytestmark = [pytest.mark.redis]
SID = "AC" + "1" * 32


@pytest.fixture
def twilio(make_integration, live_server):
    control(live_server, "twilio", SID, action="reset")
    return make_integration(f"{live_server.url}/sandbox/twilio", provider="twilio", code="twilio", type="sms",
                            credentials={"account_sid": SID, "auth_token": f"{SID}-secret"},
                            config={"sender": "+14155550123"})


def test_send_returns_the_message_sid_and_the_sandbox_has_it(twilio, live_server):
    sid = connector_for(twilio).send(sms())
    assert sid.startswith("SM") and len(sid) == 34
    (sent,) = control(live_server, "twilio", SID, action="outbox")["outbox"]
    assert sent == {**sent, "id": sid, "to": "+447911123456", "from": "+14155550123"}
    log = twilio.logs.get(action="twilio.send")
    assert log.status_code == 201 and f"{SID}-secret" not in log.request_excerpt + log.endpoint


def test_wrong_auth_token_is_an_auth_error(twilio):
    twilio.credentials = {"account_sid": SID, "auth_token": "nope"}
    with pytest.raises(AuthError):
        connector_for(twilio).send(sms())


def test_invalid_number_is_a_recipient_rejection(twilio):
    with pytest.raises(RecipientRejected, match="21211"):
        connector_for(twilio).send(sms(to="12345"))


def test_server_error_is_transient(twilio, live_server):
    control(live_server, "twilio", SID, action="fail", status=500, times=1)
    with pytest.raises(TransientError):
        connector_for(twilio).send(sms())


def test_connection_test_calls_the_provider_and_records_the_outcome(twilio):
    from integrations_api.tasks import run_connection_test

    assert run_connection_test(twilio)["ok"] is True
    twilio.refresh_from_db()
    twilio.credentials = {"account_sid": SID, "auth_token": "nope"}
    twilio.save()
    outcome = run_connection_test(twilio)
    assert outcome["ok"] is False and outcome["message"].startswith("auth")
    twilio.refresh_from_db()
    assert twilio.connection_error and twilio.last_connected_at is not None
