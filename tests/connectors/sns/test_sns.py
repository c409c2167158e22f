"""AWS SNS through its sandbox: SigV4-signed Publish, checked by recomputing the signature."""

from __future__ import annotations

import pytest

from connectors.errors import AuthError
from connectors.messaging import RecipientRejected
from tests.services.sms import connector_for, control, sms

pytestmark = [pytest.mark.redis]


@pytest.fixture
def sns(make_integration, live_server):
    control(live_server, "sns", "AKIAACME", action="reset")
    return make_integration(f"{live_server.url}/sandbox/sns", provider="sns", code="sns", type="sms",
                            credentials={"access_key_id": "AKIAACME", "secret_access_key": "AKIAACME-secret"},
                            config={"region": "eu-west-1", "sender": "ACME"})


def test_publish_is_signed_and_returns_the_message_id(sns, live_server):
    message_id = connector_for(sns).send(sms())
    (sent,) = control(live_server, "sns", "AKIAACME", action="outbox")["outbox"]
    assert sent["id"] == message_id and sent["to"] == "+447911123456"
    assert "AKIAACME-secret" not in sns.logs.get(action="sns.publish").request_excerpt


def test_a_wrong_secret_fails_the_signature_check(sns):
    sns.credentials = {"access_key_id": "AKIAACME", "secret_access_key": "guessed"}
    with pytest.raises(AuthError, match="SignatureDoesNotMatch"):
        connector_for(sns).send(sms())


def test_a_number_sns_cannot_publish_to_is_a_recipient_rejection(sns):
    with pytest.raises(RecipientRejected, match="InvalidParameter"):
        connector_for(sns).send(sms(to="447911123456"))


def test_connection_test_calls_the_provider_and_records_the_outcome(sns):
    from integrations_api.tasks import run_connection_test

    assert run_connection_test(sns)["ok"] is True
    sns.refresh_from_db()
    sns.credentials = {"access_key_id": "AKIAACME", "secret_access_key": "guessed"}
    sns.save()
    outcome = run_connection_test(sns)
    assert outcome["ok"] is False and outcome["message"].startswith("auth")
    sns.refresh_from_db()
    assert sns.connection_error and sns.last_connected_at is not None
