"""A user obtains a token with username and password, then sees their organizations and acts with it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_token_from_password_then_me_and_org_selection(org, other_org, make_user):
    user = make_user(org, role="viewer", username="dana")
    from integrations.models import Membership

    Membership.objects.create(user=user, organization=other_org, role="admin")
    client = APIClient()
    assert client.post("/api/v1/auth/token", {"username": "dana", "password": "wrong"}).status_code == 400
    token = client.post("/api/v1/auth/token", {"username": "dana", "password": "pw-for-tests-only"}).json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    me = client.get("/api/v1/me").json()
    assert me["kind"] == "user"
    assert {(o["slug"], o["role"]) for o in me["organizations"]} == {("acme", "viewer"), ("globex", "admin")}
    # Two organizations: the caller must choose one for scoped endpoints.
    assert client.get("/api/v1/integrations").status_code == 400
    assert client.get("/api/v1/integrations", HTTP_X_ORGANIZATION="globex").status_code == 200


def test_me_for_an_api_key(org, api_client_for):
    me = api_client_for(org, "manager").get("/api/v1/me").json()
    assert me["kind"] == "api_key" and me["organizations"] == [{"slug": "acme", "name": "Acme Retail",
                                                                 "role": "manager"}]


def test_me_needs_credentials():
    assert APIClient().get("/api/v1/me").status_code == 401
