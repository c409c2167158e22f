"""The iiko connector through the real sync runner (in this process) against the sandbox over HTTP."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from connectors.errors import AuthError
from connectors.iiko import IikoConnector
from connectors.iiko.client import password_hash
from integrations.models import IntegrationLog
from integrations_api.tasks import run_connection_test
from records.models import Category, Invoice, InvoiceLine, Location, Product, Supplier
from syncjobs.models import JobStatus, SyncJob
from syncjobs.runner import run_job
from syncjobs.services import start_sync

from .conftest import SIZES

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.redis]
# The sandbox's tokens are random UUIDs (version 4); its object ids are name-based (version 5).
TOKEN_LIKE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
ALL = ["restaurants", "stores", "suppliers", "product-groups", "products", "invoices"]


def sync(integration, streams=ALL, full=False) -> dict[str, SyncJob]:
    jobs = {}
    for job in start_sync(integration, streams=list(streams), full=full):
        run_job(job.pk)
        job.refresh_from_db()
        jobs[job.stream] = job
    return jobs


def live(model, integration):
    return model.objects.filter(integration=integration, deleted_at__isnull=True)


def test_registered_with_its_schemas():
    assert IikoConnector.all_secret_fields() == ("login", "password")
    config = IikoConnector.validate_config({})
    assert config["invoice_window_days"] == 7 and config["timezone"] == "UTC"
    with pytest.raises(Exception, match="time zone"):
        IikoConnector.validate_config({"timezone": "Mars/Olympus"})
    from integrations.models import Integration

    for given in ("https://chain.iiko.it", "https://chain.iiko.it/", "https://chain.iiko.it/resto/"):
        assert IikoConnector(Integration(base_url=given)).base_url == "https://chain.iiko.it"


def test_connection_test_logs_in_reads_and_logs_out(iiko, iiko_sandbox):
    connector = iiko()

    message = connector.test_connection()

    assert "3 restaurant(s)" in message and "logged out" in message
    stats = iiko_sandbox.stats()
    assert stats["open_seats"] == 0 and stats["logins"] == stats["logouts"] == 1
    connector.integration.refresh_from_db()
    assert connector.integration.token_cache == {}
    logged = " ".join(f"{e.request_excerpt} {e.endpoint} {e.response_excerpt}" for e in
                      IntegrationLog.objects.filter(integration=connector.integration))
    assert "iiko.auth" in set(IntegrationLog.objects.values_list("action", flat=True))
    assert password_hash(iiko_sandbox.password) not in logged and iiko_sandbox.password not in logged
    token = IntegrationLog.objects.get(action="iiko.auth").response_excerpt
    assert "***" in token  # the token itself is masked in the log of the login


def test_wrong_password_is_a_clear_error_and_recorded(iiko_integration, iiko_sandbox):
    integration = iiko_integration(credentials={"login": iiko_sandbox.login, "password": "not-it"})

    outcome = run_connection_test(integration)

    assert not outcome["ok"] and "iiko refused the login or password" in outcome["message"]
    integration.refresh_from_db()
    assert integration.connection_error == outcome["message"] and integration.last_connected_at is None
    with pytest.raises(AuthError):
        IikoConnector(integration).http.token()


def test_every_entity_syncs_with_links(iiko_integration, iiko_sandbox):
    integration = iiko_integration()

    jobs = sync(integration)

    assert {name: job.status for name, job in jobs.items()} == dict.fromkeys(ALL, JobStatus.COMPLETED)
    restaurants = live(Location, integration).filter(kind="restaurant")
    assert restaurants.count() == SIZES["restaurants"]
    assert all(r.parent and r.parent.parent and r.parent.parent.parent is None for r in restaurants)  # corp > jur
    stores = live(Location, integration).filter(kind="store")
    assert stores.count() == SIZES["stores"] and all(s.parent.kind == "restaurant" for s in stores)
    assert live(Supplier, integration).count() == SIZES["suppliers"]
    assert live(Category, integration).count() == SIZES["groups"]
    products = live(Product, integration)
    assert products.count() == SIZES["products"] and not products.filter(category=None).exists()
    assert not products.filter(unit="").exists() and products.exclude(units=[]).exists()
    invoices = live(Invoice, integration)
    assert invoices.count() == SIZES["invoices"]
    assert not invoices.filter(supplier=None).exists() and not invoices.filter(location=None).exists()
    assert set(invoices.values_list("location__kind", flat=True)) == {"store"}
    lines = InvoiceLine.objects.filter(integration=integration)
    assert lines.count() == SIZES["invoices"] * SIZES["lines"] and not lines.filter(product=None).exists()
    one = invoices.first()
    assert one.total == sum(line.total for line in one.lines.all()) and one.kind == "purchase"
    assert jobs["invoices"].progress["extra"]["records.InvoiceLine"]["created"] == lines.count()
    stats = iiko_sandbox.stats()
    assert stats["open_seats"] == 0 and stats["logins"] == stats["logouts"] == len(ALL)


def test_second_run_reads_only_changes_by_revision(iiko_integration, iiko_sandbox):
    integration = iiko_integration()
    sync(integration, ["suppliers", "product-groups", "products"])

    unchanged = sync(integration, ["suppliers", "products"])
    assert unchanged["suppliers"].records_processed == unchanged["products"].records_processed == 0

    iiko_sandbox.control("update", entity="suppliers", ids=[3], fields={"name": "ООО «Переименовано»"})
    iiko_sandbox.control("delete", entity="products", ids=[4, 5])
    revision = iiko_sandbox.control("update", entity="products", ids=[6])["revision"]
    jobs = sync(integration, ["suppliers", "products"])

    assert (jobs["suppliers"].records_processed, jobs["suppliers"].records_updated) == (1, 1)
    assert (jobs["products"].records_processed, jobs["products"].records_deleted) == (1, 2)
    assert live(Supplier, integration).filter(name="ООО «Переименовано»").count() == 1
    assert live(Product, integration).count() == SIZES["products"] - 2
    assert jobs["products"].cursor_after == {"revision": revision}
    asked = IntegrationLog.objects.filter(sync_job_id=jobs["suppliers"].pk, action="iiko.suppliers.list").get()
    assert "revisionFrom=1" in asked.endpoint and "key=%2A%2A%2A" in asked.endpoint.replace("*", "%2A")


def test_invoices_resume_from_the_last_window(iiko_integration, iiko_sandbox):
    integration = iiko_integration(config={"page_size": 10, "invoice_window_days": 3, "invoice_history_days": 10})
    first = sync(integration, ["invoices"])["invoices"]
    windows = IntegrationLog.objects.filter(sync_job_id=first.pk, action="iiko.invoices.list").count()
    assert windows == 4 and first.records_created == SIZES["invoices"]  # 10 days in windows of 3

    again = sync(integration, ["invoices"])["invoices"]

    asked = list(IntegrationLog.objects.filter(sync_job_id=again.pk, action="iiko.invoices.list")
                 .values_list("endpoint", flat=True))
    today = first.cursor_after["date_from"]
    assert len(asked) == 1 and f"to={today}" in asked[0]  # today again (with a day's overlap), nothing older
    assert again.records_created == 0


@pytest.mark.parametrize("kind", ["malformed", "html", "wrong_root"])
def test_bad_answer_fails_the_job_clearly_and_writes_nothing(iiko_integration, iiko_sandbox, kind):
    integration = iiko_integration()
    iiko_sandbox.control("fault", kind=kind, path="suppliers")

    job = sync(integration, ["suppliers"])["suppliers"]

    assert job.status == JobStatus.FAILED and job.error_kind == "fatal"
    expected = {"malformed": "malformed XML", "html": "HTML page", "wrong_root": "expected <employees>"}[kind]
    assert expected in job.error_message and "/resto/api/suppliers" in job.error_message
    assert not Supplier.objects.filter(integration=integration).exists()
    assert iiko_sandbox.stats()["open_seats"] == 0


def test_names_in_n_sync_and_a_nameless_supplier_is_unnamed_with_a_warning(iiko_integration, iiko_sandbox):
    integration = iiko_integration()
    iiko_sandbox.control("update", entity="suppliers", ids=[1], fields={"n": "Short-form Supplier"})
    iiko_sandbox.control("update", entity="suppliers", ids=[2], fields={"name": ""})
    iiko_sandbox.control("update", entity="stores", ids=[1], fields={"n": "Short-form Store"})

    jobs = sync(integration, ["restaurants", "stores", "suppliers"])

    job = jobs["suppliers"]
    assert job.status == JobStatus.COMPLETED and (job.records_created, job.records_failed) == (7, 0)
    assert job.error_details == [] and job.progress["warning_count"] == 1
    [warning] = job.progress["warnings"]
    assert warning["warning"] == "no <name> or <n>: saved as 'Unnamed supplier'" and warning["page"] == 1
    assert live(Supplier, integration).get(external_id=warning["external_id"]).name == "Unnamed supplier"
    assert live(Supplier, integration).filter(name="Short-form Supplier").count() == 1
    assert live(Location, integration).filter(name="Short-form Store", kind="store").count() == 1
    assert jobs["stores"].progress.get("warning_count") is None and jobs["stores"].records_failed == 0
    logged = IntegrationLog.objects.get(sync_job_id=job.pk, action="sync.completed")
    assert logged.level == "warning" and '"warnings": 1' in logged.response_excerpt


def test_expired_token_midway_is_renewed_and_both_are_given_back(iiko_integration, iiko_sandbox):
    integration = iiko_integration()
    iiko_sandbox.control("fault", kind="expire_token", after=1)  # the products call, after the units call

    job = sync(integration, ["product-groups", "products"])["products"]

    assert job.status == JobStatus.COMPLETED and job.records_created == SIZES["products"]
    stats = iiko_sandbox.stats()
    assert stats["open_seats"] == 0 and stats["logins"] == 3  # groups job, products job, renewal
    # No token (a UUID) in any log row: not the logins' answers, not the logouts', not in a URL.
    logged = [" ".join((e.endpoint, e.request_excerpt, e.response_excerpt, e.error_message))
              for e in IntegrationLog.objects.filter(integration=integration)]
    assert logged and not [text for text in logged if TOKEN_LIKE.search(text)]


def test_no_free_seat_is_a_clear_retryable_error(iiko_integration, iiko_sandbox):
    import requests

    integration = iiko_integration()
    iiko_sandbox.control("set_seats", seats=1)
    held = requests.post(f"{iiko_sandbox.base}/resto/api/auth", timeout=10,
                         data={"login": iiko_sandbox.login, "pass": password_hash(iiko_sandbox.password)}).text

    job = sync(integration, ["suppliers"])["suppliers"]

    assert job.status == JobStatus.FAILED and job.error_kind == "transient"
    assert "every API seat is taken" in job.error_message
    requests.get(f"{iiko_sandbox.base}/resto/api/logout", params={"key": held}, timeout=10)
    assert sync(integration, ["suppliers"])["suppliers"].status == JobStatus.COMPLETED


def test_server_errors_are_retried_then_fail_without_a_leaked_seat(iiko_integration, iiko_sandbox):
    integration = iiko_integration()
    iiko_sandbox.control("fault", kind="status", status=500, count=2)

    ok = sync(integration, ["suppliers"])["suppliers"]
    iiko_sandbox.control("fault", kind="status", status=502, count=10)
    failed = sync(integration, ["restaurants"])["restaurants"]

    assert ok.status == JobStatus.COMPLETED and ok.records_created == SIZES["suppliers"]
    assert failed.status == JobStatus.FAILED and failed.error_kind == "transient" and "502" in failed.error_message
    assert iiko_sandbox.stats()["open_seats"] == 0


def test_supplier_search_by_name(iiko, iiko_sandbox):
    iiko_sandbox.control("update", entity="suppliers", ids=[4], fields={"name": "ИП Иванов И. И."})

    found = iiko().search_suppliers("иванов")

    assert [s["name"] for s in found] == ["ИП Иванов И. И."]
    assert iiko_sandbox.stats()["open_seats"] == 0


def test_products_carry_price_units_and_attributes(iiko_integration):
    integration = iiko_integration()
    sync(integration, ["product-groups", "products"])

    boxed = live(Product, integration).exclude(units=[]).first()

    assert boxed.units[0]["name"] == "Коробка" and Decimal(boxed.units[0]["factor"]) > 1
    assert boxed.price > 0 and boxed.attributes["type"] in ("GOODS", "DISH") and boxed.sku.isdigit()


def test_invoice_lines_follow_their_invoice(iiko_integration, iiko_sandbox):
    integration = iiko_integration()
    sync(integration, ALL)
    emptied, deleted = Invoice.objects.filter(integration=integration).order_by("number")[:2]
    iiko_sandbox.control("update", entity="invoices", ids=[int(emptied.number)], fields={"items": []})
    iiko_sandbox.control("update", entity="invoices", ids=[int(deleted.number)], fields={"status": "DELETED"})

    job = sync(integration, ["invoices"], full=True)["invoices"]

    assert (job.records_updated, job.records_deleted) == (1, 1)
    emptied.refresh_from_db()
    deleted.refresh_from_db()
    assert emptied.total == 0 and deleted.deleted_at is not None
    live_lines = InvoiceLine.objects.filter(integration=integration, deleted_at__isnull=True)
    assert not live_lines.filter(invoice__in=[emptied, deleted]).exists()
    assert live_lines.count() == (SIZES["invoices"] - 2) * SIZES["lines"]


def test_the_demo_seed_syncs_against_the_sandbox(org, live_server):
    from connectors.iiko.seed import demo_integrations
    from integrations.models import Integration

    spec = demo_integrations(live_server.url)[0]
    integration = Integration.objects.create(organization=org, **spec)

    jobs = sync(integration, ALL)

    assert {job.status for job in jobs.values()} == {JobStatus.COMPLETED}
    assert live(Invoice, integration).exists() and live(Location, integration).filter(kind="restaurant").exists()


def test_a_hanging_server_times_out_and_the_read_is_retried(iiko_integration, iiko_sandbox, settings):
    settings.CONNECTOR_HTTP_TIMEOUT = 0.5
    integration = iiko_integration()
    iiko_sandbox.control("fault", kind="hang", seconds=1.5, path="suppliers")

    job = sync(integration, ["suppliers"])["suppliers"]

    assert job.status == JobStatus.COMPLETED and job.records_created == SIZES["suppliers"]
    calls = IntegrationLog.objects.filter(sync_job_id=job.pk, action="iiko.suppliers.list").order_by("id")
    assert [c.status_code for c in calls] == [None, 200] and "timeout" in calls[0].error_message
    assert iiko_sandbox.stats()["open_seats"] == 0


def test_objects_created_at_the_source_appear_incrementally(iiko_integration, iiko_sandbox):
    integration = iiko_integration()
    sync(integration, ALL)
    lines_before = InvoiceLine.objects.filter(integration=integration).values_list("external_id", "product_id")

    iiko_sandbox.control("create", entity="suppliers", count=2)
    iiko_sandbox.control("create", entity="products", count=1)
    jobs = sync(integration, ["suppliers", "products", "invoices"])

    assert (jobs["suppliers"].records_processed, jobs["suppliers"].records_created) == (2, 2)
    assert (jobs["products"].records_processed, jobs["products"].records_created) == (1, 1)
    assert live(Supplier, integration).count() == SIZES["suppliers"] + 2
    assert live(Product, integration).count() == SIZES["products"] + 1
    # The generated data do not shift when objects are added: invoices are unchanged.
    assert jobs["invoices"].records_updated == 0
    assert set(InvoiceLine.objects.filter(integration=integration).values_list("external_id", "product_id")) == \
        set(lines_before)


def test_a_session_dropped_twice_is_transient_not_an_auth_problem(iiko_integration, iiko_sandbox):
    from integrations.models import IntegrationStatus

    integration = iiko_integration()
    iiko_sandbox.control("fault", kind="expire_token", count=2)  # the first call, and the retry after login

    job = sync(integration, ["suppliers"])["suppliers"]

    assert job.status == JobStatus.FAILED and job.error_kind == "transient"
    assert "dropped the session again" in job.error_message
    integration.refresh_from_db()
    assert integration.status == IntegrationStatus.ACTIVE and iiko_sandbox.stats()["open_seats"] == 0
