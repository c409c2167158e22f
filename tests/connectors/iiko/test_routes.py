"""The seed's account-scoped routes without a worker: tenancy, roles, validation and the answers' shapes."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integrations.models import CredentialAudit, Integration, IntegrationLog, IntegrationStatus
from syncjobs.models import JobStatus, SyncJob

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def url(account, tail: str) -> str:
    return f"/api/v1/accounts/{account}/integrations/iiko/{tail}"


def make(org, code: str = "iiko", **extra) -> Integration:
    return Integration.objects.create(organization=org, name="iiko", code=code, provider="iiko",
                                      base_url="http://127.0.0.1:9/unused",
                                      credentials={"login": "chain", "password": "secret-pw"}, **extra)


@pytest.fixture
def user_client(make_user):
    def client_for(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return client_for


def test_the_account_in_the_path_chooses_the_organization(org, other_org, make_user, user_client):
    ours, theirs = make(org), make(other_org)
    both = make_user(org, "viewer", username="both")
    from integrations.models import Membership

    Membership.objects.create(user=both, organization=other_org, role="viewer")
    only_ours = user_client(make_user(org, "viewer", username="only-acme"))

    client = user_client(both)
    assert client.get(url("acme", "status")).json()["integration"] == ours.pk
    assert client.get(url(other_org.pk, "status")).json()["integration"] == theirs.pk
    # Another organization's account, by slug or id, or one that does not exist: 404, never 403.
    for account in ("globex", other_org.pk, "nope", "99999999999999999999", "²"):
        answer = only_ours.get(url(account, "status"))
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", account
    assert only_ours.get(url("acme", "status"), HTTP_X_ORGANIZATION="globex").status_code == 200


def test_unauthenticated_is_401_in_the_envelope(org):
    make(org)
    answer = APIClient().get(url("acme", "status"))
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "not_authenticated"


def test_status_before_any_sync(org, api):
    make(org)

    body = api.get(url("acme", "status")).json()

    assert body["is_connected"] is False and body["connection_error"] == ""
    assert set(body["entities"]) == {"restaurants", "stores", "suppliers", "products", "invoices"}
    assert body["entities"]["suppliers"] == {"job_id": None, "status": "never", "error": "", "finished_at": None,
                                             "result": {"total": 0, "created": 0, "updated": 0, "errors": 0,
                                                        "error_details": []}}


def test_sync_queues_the_entitys_streams(org, api):
    integration = make(org)

    answer = api.post(url("acme", "sync/products"))

    assert answer.status_code == 202
    body = answer.json()
    jobs = SyncJob.objects.filter(integration=integration).order_by("id")
    assert [j.stream for j in jobs] == ["product-groups", "products"] and body["jobs"] == [j.pk for j in jobs]
    assert body["job_id"] == jobs.last().pk and body["status"] == JobStatus.PENDING
    assert body["result"] == {"total": 0, "created": 0, "updated": 0, "errors": 0, "error_details": []}
    assert api.post(url("acme", "sync/employees")).status_code == 404
    assert api.post(url("acme", "sync/suppliers?wait=soon")).status_code == 400


def test_sync_of_an_inactive_integration_is_a_conflict(org, api):
    make(org, status=IntegrationStatus.INACTIVE)
    assert api.post(url("acme", "sync/suppliers")).status_code == 409


def test_no_iiko_integration_is_a_404_that_says_what_to_do(org, api):
    answer = api.get(url("acme", "status"))
    assert answer.status_code == 404 and "connect" in answer.json()["error"]["message"]


def test_connect_validates_and_audits_without_showing_secrets(org, api):
    missing = api.post(url("acme", "connect?wait=0"), {"username": "chain"}, format="json")
    assert missing.status_code == 400 and "password" in str(missing.json()["error"]["details"])
    assert not Integration.objects.filter(organization=org).exists()

    created = api.post(url("acme", "connect?wait=0"), {"username": "chain", "password": "pw-1",
                                                       "base_url": "https://chain.iiko.it"}, format="json")
    assert created.status_code == 200 and created.json()["test"] == {"status": "queued"}
    integration = Integration.objects.get(organization=org, provider="iiko")
    assert integration.base_url == "https://chain.iiko.it" and integration.credentials == {"login": "chain",
                                                                                           "password": "pw-1"}
    updated = api.post(url("acme", "connect?wait=0"), {"password": "pw-2"}, format="json")
    assert updated.status_code == 200 and "pw-" not in updated.content.decode()
    integration.refresh_from_db()
    assert integration.credentials == {"login": "chain", "password": "pw-2"}
    audits = list(CredentialAudit.objects.filter(integration=integration).order_by("id").values_list("action",
                                                                                                     "fields"))
    assert audits == [("created", ["login", "password"]), ("updated", ["password"])], audits


def test_roles(org, api_client_for):
    make(org)
    viewer, manager = api_client_for(org, "viewer"), api_client_for(org, "manager")

    assert viewer.get(url("acme", "logs")).status_code == 200
    assert viewer.post(url("acme", "sync/stores")).status_code == 403
    assert manager.post(url("acme", "sync/stores")).status_code == 202
    assert manager.post(url("acme", "connect"), {"password": "x"}, format="json").status_code == 403


def test_logs_and_suppliers_are_the_integrations_own(org, other_org, api):
    from records.models import Supplier

    ours, theirs = make(org), make(other_org)
    other_of_ours = make(org, code="iiko-2")
    for integ in (ours, theirs, other_of_ours):
        IntegrationLog.objects.create(organization_id=integ.organization_id, integration=integ, action="iiko.test")
        Supplier.objects.create(organization_id=integ.organization_id, integration=integ, external_id="s1",
                                name=f"ООО «Поставщик {integ.pk}»")

    logs = api.get(url("acme", "logs")).json()
    second = api.get(url("acme", "logs?integration_code=iiko-2")).json()
    found = api.get(url("acme", "suppliers?search=поставщик")).json()

    assert [e["integration"] for e in logs["results"]] == [ours.pk]
    assert [e["integration"] for e in second["results"]] == [other_of_ours.pk]
    assert [s["name"] for s in found["results"]] == [f"ООО «Поставщик {ours.pk}»"]


def test_the_core_scheduler_syncs_every_entity_in_dependency_order(org):
    from syncjobs.tasks import dispatch_due_syncs

    integration = make(org, auto_sync_enabled=True, sync_interval_minutes=60)

    assert dispatch_due_syncs() == 1

    streams = list(SyncJob.objects.filter(integration=integration).order_by("id").values_list("stream", flat=True))
    assert streams == ["restaurants", "stores", "suppliers", "product-groups", "products", "invoices"]
    integration.refresh_from_db()
    assert integration.next_sync_at is not None and dispatch_due_syncs() == 0  # not due again for an hour
