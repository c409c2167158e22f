"""Role matrix: viewers read, managers also sync and test, admins also change integrations and keys."""

from __future__ import annotations

import pytest

from integrations.models import ApiKey, Integration

from .conftest import integration_payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations"
ROLES = ["viewer", "manager", "admin", "owner"]

# (name, minimum role, request) -> the status an allowed caller gets
OPERATIONS = {
    "list": ("viewer", lambda c, i: c.get(URL), 200),
    "retrieve": ("viewer", lambda c, i: c.get(f"{URL}/{i.pk}"), 200),
    "providers": ("viewer", lambda c, i: c.get("/api/v1/providers"), 200),
    "logs": ("viewer", lambda c, i: c.get("/api/v1/integration-logs"), 200),
    "api-keys": ("viewer", lambda c, i: c.get("/api/v1/api-keys"), 200),
    "sync": ("manager", lambda c, i: c.post(f"{URL}/{i.pk}/sync", {"streams": ["locations"]}, format="json"), 202),
    "test": ("manager", lambda c, i: c.post(f"{URL}/{i.pk}/test"), 202),
    "create": ("admin", lambda c, i: c.post(URL, integration_payload(code="new-one"), format="json"), 201),
    "update": ("admin", lambda c, i: c.patch(f"{URL}/{i.pk}", {"name": "x"}, format="json"), 200),
    "change-credentials": (
        "admin", lambda c, i: c.patch(f"{URL}/{i.pk}", {"credentials": {"client_secret": "n"}}, format="json"), 200
    ),
    "delete": ("admin", lambda c, i: c.delete(f"{URL}/{i.pk}"), 204),
    "audits": ("admin", lambda c, i: c.get("/api/v1/credential-audits"), 200),
    "create-key": ("admin", lambda c, i: c.post("/api/v1/api-keys", {"name": "k", "role": "viewer"}), 201),
}
RANK = {role: n for n, role in enumerate(ROLES)}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_role_matrix(org, integration, api_client_for, role, operation):
    minimum, call, allowed_status = OPERATIONS[operation]
    before = Integration.objects.get(pk=integration.pk)
    response = call(api_client_for(org, role), integration)
    if RANK[role] >= RANK[minimum]:
        assert response.status_code == allowed_status, response.content
    else:
        assert response.status_code == 403, response.content
        error = response.json()["error"]
        assert error["code"] == "permission_denied" and minimum in error["message"]
        after = Integration.objects.filter(pk=integration.pk).first()
        assert after is not None and after.name == before.name and after.credentials == before.credentials
        assert not Integration.objects.filter(code="new-one").exists()


@pytest.mark.parametrize(
    "own, requested, allowed",
    [("admin", "viewer", True), ("admin", "admin", True), ("admin", "owner", False), ("owner", "owner", True)],
)
def test_cannot_create_a_key_above_own_role(org, api_client_for, own, requested, allowed):
    response = api_client_for(org, own).post("/api/v1/api-keys", {"name": "k", "role": requested}, format="json")
    assert response.status_code == (201 if allowed else 403), response.content
    assert ApiKey.objects.filter(name="k", role=requested).exists() is allowed


def test_user_roles_follow_membership(org, make_user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user(org, 'manager')).key}")
    assert client.get(URL).status_code == 200
    assert client.post(URL, integration_payload(), format="json").status_code == 403
