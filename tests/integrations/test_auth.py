"""Authentication (API keys, user tokens, sessions) and choosing the organization."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integrations.models import ApiKey, Membership

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations"


def bearer(value: str, scheme: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {value}")
    return client


def test_good_api_key_acts_in_its_organization(org, other_org, make_integration):
    make_integration(org, code="mine")
    make_integration(other_org, code="theirs")
    _, raw = ApiKey.issue(org, name="k", role="viewer")
    response = bearer(raw).get(URL)
    assert response.status_code == 200
    assert [i["code"] for i in response.json()["results"]] == ["mine"]


def test_api_key_is_stored_hashed(org):
    key, raw = ApiKey.issue(org, name="k", role="viewer")
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert raw not in str(stored)
    assert raw.startswith(stored["prefix"]) and len(stored["prefix"]) < len(raw) // 2


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_unknown_api_key_is_401(db, scheme):
    response = bearer("ihk_not-a-real-key", scheme).get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"authentication_failed", "not_authenticated"}


def test_user_token_with_a_nul_is_401(db):
    # Looked up as it was, the NUL reached PostgreSQL, which refuses it (a 500).
    response = bearer("abc\x00def", "Token").get(URL)
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"


def test_revoked_api_key_is_401(org):
    key, raw = ApiKey.issue(org, name="k", role="admin")
    assert bearer(raw).get(URL).status_code == 200
    key.revoke()
    response = bearer(raw).get(URL)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_no_credentials_is_401(db):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_last_used_at_is_recorded(org):
    key, raw = ApiKey.issue(org, name="k", role="viewer")
    assert key.last_used_at is None
    bearer(raw).get(URL)
    key.refresh_from_db()
    assert key.last_used_at is not None and timezone.now() - key.last_used_at < timedelta(seconds=10)
    # Written at most once a minute; an older stamp is refreshed.
    old = timezone.now() - timedelta(hours=2)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=old)
    bearer(raw).get(URL)
    key.refresh_from_db()
    assert key.last_used_at > old + timedelta(hours=1)


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_user_token(org, make_user, make_integration, scheme):
    make_integration(org)
    user = make_user(org, "viewer")
    token = Token.objects.create(user=user)
    response = bearer(token.key, scheme).get(URL)
    assert response.status_code == 200 and response.json()["count"] == 1
    assert bearer(token.key + "x", scheme).get(URL).status_code == 401


def test_session_login(org, make_user, make_integration):
    make_integration(org)
    make_user(org, "viewer", username="sessionuser")
    client = APIClient()
    assert client.login(username="sessionuser", password="pw-for-tests-only")
    response = client.get(URL)
    assert response.status_code == 200 and response.json()["count"] == 1


def test_session_writes_need_csrf(org, make_user):
    make_user(org, "admin", username="csrfuser")
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="csrfuser", password="pw-for-tests-only")
    response = client.post(URL, {}, format="json")
    assert response.status_code == 403


def test_user_without_membership_is_403(db, django_user_model):
    user = django_user_model.objects.create_user("loner", password="pw-for-tests-only")
    token = Token.objects.create(user=user)
    response = bearer(token.key).get(URL)
    assert response.status_code == 403


class TestUserInTwoOrganizations:
    @pytest.fixture
    def client(self, org, other_org, make_user, make_integration):
        make_integration(org, code="acme-one")
        make_integration(other_org, code="globex-one")
        user = make_user(org, "admin", username="two-orgs")
        Membership.objects.create(user=user, organization=other_org, role="viewer")
        return bearer(Token.objects.create(user=user).key)

    def test_without_header_must_choose(self, client):
        response = client.get(URL)
        assert response.status_code == 400
        assert "X-Organization" in response.json()["error"]["details"]

    def test_header_by_slug_selects_org_and_role(self, client, other_org):
        response = client.get(URL, HTTP_X_ORGANIZATION="globex")
        assert [i["code"] for i in response.json()["results"]] == ["globex-one"]
        # A viewer there, although an admin in acme.
        from .conftest import integration_payload

        assert client.post(URL, integration_payload(), format="json", HTTP_X_ORGANIZATION="globex").status_code == 403
        assert client.post(URL, integration_payload(), format="json", HTTP_X_ORGANIZATION="acme").status_code == 201

    def test_header_by_id(self, client, org):
        response = client.get(URL, HTTP_X_ORGANIZATION=str(org.pk))
        assert [i["code"] for i in response.json()["results"]] == ["acme-one"]

    def test_header_naming_a_foreign_org_is_403(self, client, db):
        from integrations.models import Organization

        Organization.objects.create(name="Initech", slug="initech")
        assert client.get(URL, HTTP_X_ORGANIZATION="initech").status_code == 403
        assert client.get(URL, HTTP_X_ORGANIZATION="no-such-org").status_code == 403

    @pytest.mark.parametrize("header", ["\xb2", "1\xb2", "\u0661", "acme\x00"])
    def test_header_that_is_no_id_nor_slug_is_403(self, client, header):
        # "²" passed isdigit() and then failed int(); a NUL reached PostgreSQL: both were a 500.
        response = client.get(URL, HTTP_X_ORGANIZATION=header)
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_api_key_cannot_switch_organization(org, other_org, make_integration):
    make_integration(other_org)
    _, raw = ApiKey.issue(org, name="k", role="owner")
    response = bearer(raw).get(URL, HTTP_X_ORGANIZATION="globex")
    assert response.status_code == 403
    assert bearer(raw).get(URL, HTTP_X_ORGANIZATION="acme").status_code == 200
