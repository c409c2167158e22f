"""TextLocal through its sandbox: status success/failure with error codes in a 200 answer."""

from __future__ import annotations

import pytest

from connectors.errors import AuthError, TransientError
from connectors.messaging import RecipientRejected
from tests.services.sms import connector_for, control, sms

pytestmark = [pytest.mark.redis]


@pytest.fixture
def textlocal(make_integration, live_server):
    control(live_server, "textlocal", "acme", action="reset")
    return make_integration(f"{live_server.url}/sandbox/textlocal", provider="textlocal", code="textlocal", type="sms",
                            credentials={"api_key": "acme-secret"}, config={"sender": "ACMESHOP"})


def test_send_returns_the_message_id(textlocal, live_server):
    message_id = connector_for(textlocal).send(sms())
    (sent,) = control(live_server, "textlocal", "acme", action="outbox")["outbox"]
    assert sent["id"] == message_id and sent["to"] == "447911123456" and sent["from"] == "ACMESHOP"


def test_invalid_login_code_3_is_an_auth_error(textlocal):
    textlocal.credentials = {"api_key": "acme-wrong"}
    with pytest.raises(AuthError, match="error 3"):
        connector_for(textlocal).send(sms())


def test_no_valid_number_code_51_is_a_recipient_rejection(textlocal):
    with pytest.raises(RecipientRejected, match="51"):
        connector_for(textlocal).send(sms(to="+12"))


def test_a_503_is_retried_then_transient(textlocal, live_server, settings):
    settings.CONNECTOR_HTTP_BACKOFF_BASE = 0.01
    control(live_server, "textlocal", "acme", action="fail", status=503, times=-1)
    with pytest.raises(TransientError):
        connector_for(textlocal).send(sms())
    # 503 means "not processed": the client may repeat even a POST.
    assert textlocal.logs.filter(action="textlocal.send").count() > 1


def test_connection_test_calls_the_provider_and_records_the_outcome(textlocal):
    from integrations_api.tasks import run_connection_test

    assert run_connection_test(textlocal)["ok"] is True
    textlocal.refresh_from_db()
    textlocal.credentials = {"api_key": "acme-wrong"}
    textlocal.save()
    outcome = run_connection_test(textlocal)
    assert outcome["ok"] is False and outcome["message"].startswith("auth")
    textlocal.refresh_from_db()
    assert textlocal.connection_error and textlocal.last_connected_at is not None
