"""No admin page shows a secret: every registered model's list and change page, as superuser and as a
viewer member, with secrets set on every model that holds them (and in the payloads staff read)."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from rest_framework.authtoken.models import Token

from events.models import Destination
from integrations.models import Integration, IntegrationLog
from payments.models import GatewayCallback, PaymentTransaction
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

SECRETS = {
    "client_secret": "cs-Console-9a1f-secret",
    "password": "pw-Console-77c2-secret",
    "api_key": "ak-Console-51d0-secret",
    "webhook_secret": "whk-Console-e4b8-secret",
    "access_token": "tok-Console-3f6e-secret",
    "connection": "amqp://hub:bus-Console-c0d3-secret@rabbit/",
    "stripe_client_secret": "pi_123_secret_Console8f2a",
    "signature": "sig-Console-1b7c-secret",
    "bearer": "brr-Console-6d5e-secret",
}


@pytest.fixture
def secret_rows(org):
    integration = Integration.objects.create(
        organization=org, code="shop", name="Shop", provider="demo", type="inventory",
        credentials={"client_id": "id-1", "client_secret": SECRETS["client_secret"], "password": SECRETS["password"],
                     "api_key": SECRETS["api_key"]},
        webhook_secret=SECRETS["webhook_secret"], token_cache={"access_token": SECRETS["access_token"]},
    )
    Destination.objects.create(organization=org, name="bus", kind="rabbitmq", target="hub.events",
                               connection=SECRETS["connection"])
    WebhookEvent.objects.create(
        organization=org, integration=integration, provider="demo", event_type="order.created",
        headers={"Authorization": f"Bearer {SECRETS['bearer']}", "X-Signature": SECRETS["signature"]},
        body=json.dumps({"id": 1, "password": SECRETS["password"]}).encode(),
    )
    tx = PaymentTransaction.objects.create(
        organization=org, integration=integration, provider="stripe", amount=1000, currency="USD",
        raw={"id": "pi_123", "client_secret": SECRETS["stripe_client_secret"]},
    )
    GatewayCallback.objects.create(
        organization=org, integration=integration, provider="payme", transaction=tx,
        headers={"Authorization": f"Basic {SECRETS['bearer']}"},
        body=json.dumps({"params": {"password": SECRETS["password"]}}).encode(),
        response={"result": {"api_key": SECRETS["api_key"]}},
    )
    IntegrationLog.objects.create(organization=org, integration=integration, action="test", endpoint="/x",
                                  request_excerpt='{"client_secret": "********"}')
    return integration


def pages_of_every_model(user) -> list[str]:
    """URL of each registered model's list and of the change page of a row the user may see."""
    request = RequestFactory().get("/admin/")
    request.user = user
    urls = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        try:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        except NoReverseMatch:
            continue
        row = model_admin.get_queryset(request).first()
        if row is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))
    return urls


def assert_no_secret(client, user) -> int:
    client.force_login(user)
    checked = 0
    for url in pages_of_every_model(user):
        response = client.get(url)
        if response.status_code in (403, 404):
            continue  # a viewer may not open some pages at all: nothing shown, nothing leaked
        assert response.status_code == 200, url
        html = response.content.decode()
        for name, value in SECRETS.items():
            assert value not in html, f"{name} shown on {url}"
        checked += 1
    return checked


def test_no_admin_page_shows_a_secret_to_a_superuser(client, secret_rows, org):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    Token.objects.create(user=root)
    token = Token.objects.get(user=root).key
    SECRETS["drf_token"] = token
    try:
        checked = assert_no_secret(client, root)
    finally:
        SECRETS.pop("drf_token")
    # Every registered model's list was rendered, plus the change pages of the rows set up above.
    assert checked >= len(admin.site._registry)


def test_no_admin_page_shows_a_secret_to_a_viewer(client, secret_rows, org, make_user):
    viewer = make_user(org, "viewer", is_staff=True)
    assert assert_no_secret(client, viewer) > 20


def test_the_health_page_of_an_integration_hides_its_secrets(client, secret_rows, org, make_user):
    viewer = make_user(org, "viewer", is_staff=True)
    client.force_login(viewer)
    html = client.get(reverse("admin:health_integrationhealth_change", args=[secret_rows.pk])).content.decode()
    assert "Shop" in html
    for value in SECRETS.values():
        assert value not in html
