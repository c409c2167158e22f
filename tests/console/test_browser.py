"""The staff console in a real browser (headless Chromium), as a staff member uses it.

Log in; the dashboard after a demo sync; connect KiotViet through the form; Sync now and watch the
progress bars finish; retry a failed webhook; another organization's pages; no secret in any page.
Screenshots of the dashboard, the connect form and a running sync go to docs/screenshots/.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from integrations.models import Integration, IntegrationLog
from records.models import Product
from sandboxes.demo.dataset import credentials_for
from syncjobs.models import SyncJob
from syncjobs.services import start_sync
from tests.conftest import wait_for
from webhooks.models import WebhookEvent

from .conftest import screenshot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-browser-tests-only"
SIZES = {"locations": 2, "categories": 4, "products": 120, "customers": 5, "orders": 6}


def log_in(driver, username: str) -> None:
    driver.get(f"{driver.live_url}/admin/login/?next=/admin/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "[type=submit]").click()
    WebDriverWait(driver, 20).until(ec.presence_of_element_located((By.ID, "hub-dashboard")))


@pytest.fixture
def staff(org, make_user):
    user = make_user(org, "admin", username="browser-admin", is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def demo_store(org, live_server, client_id: str | None = None, **config) -> Integration:
    client_id = client_id or f"console-{uuid.uuid4().hex[:8]}"
    base = f"{live_server.url}/sandbox/demo"
    credentials = credentials_for(client_id)
    response = requests.post(f"{base}/_control", json={"action": "set_sizes", "sizes": SIZES, **credentials},
                             timeout=10)
    assert response.status_code == 200, response.text
    return Integration.objects.create(
        organization=org, name="Demo Store", code=f"demo-{client_id[-4:]}", provider="demo", base_url=base,
        credentials=credentials, config={"page_size": 10, "price_list": "retail", **config},
        webhook_secret="whsec_" + "A" * 32, sync_interval_minutes=30, auto_sync_enabled=True,
    )


def slow_down(integration: Integration, seconds: float, count: int) -> None:
    """Make the sandbox answer each products page slowly, so a person can watch the sync run."""
    response = requests.post(f"{integration.base_url}/_control", json={
        "action": "fault", "kind": "hang", "seconds": seconds, "count": count, "path": "products",
        **integration.credentials}, timeout=10)
    assert response.status_code == 200, response.text


def finished(integration: Integration, timeout: float = 120) -> list[SyncJob]:
    def done():
        jobs = list(SyncJob.objects.filter(integration=integration))
        return jobs if jobs and all(j.status not in ("pending", "running") for j in jobs) else None

    return wait_for(done, timeout=timeout, message="sync jobs to finish")


@pytest.mark.worker
def test_dashboard_shows_tiles_and_charts_after_a_demo_sync(browser, staff, org, live_server, celery_worker_proc):
    integration = demo_store(org, live_server)
    start_sync(integration, trigger="manual")
    jobs = finished(integration)
    assert {j.status for j in jobs} == {"completed"}, [(j.stream, j.error_message) for j in jobs]
    held = Product.objects.filter(integration=integration).count()
    assert held == SIZES["products"]

    log_in(browser, staff.username)
    tile = browser.find_element(By.CSS_SELECTOR, f'#hub-tiles [data-integration="{integration.pk}"]')
    assert "Demo Store" in tile.text and "Completed" in tile.text.title()
    records = int(tile.find_element(By.CSS_SELECTOR, "[data-records]").text.replace(",", ""))
    assert records >= held
    for chart in ("chart-jobs", "chart-records", "chart-webhooks", "chart-latency"):
        WebDriverWait(browser, 10).until(
            lambda d, c=chart: d.find_element(By.ID, c).get_attribute("data-rendered") == "1")
    assert "failed sync jobs" in browser.find_element(By.ID, "hub-attention").text
    screenshot(browser, "dashboard")


def test_connect_kiotviet_through_the_form_and_see_the_test_result(browser, staff, org, live_server):
    log_in(browser, staff.username)
    browser.get(f"{live_server.url}{reverse('admin:integrations_integration_add')}")
    browser.find_element(By.CSS_SELECTOR, '[data-provider="kiotviet"]').click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.NAME, "cred__client_secret")))
    assert not browser.find_elements(By.NAME, "credentials_masked")  # no JSON to type
    Select(browser.find_element(By.NAME, "organization")).select_by_value(str(org.pk))
    base = f"{live_server.url}/sandbox/kiotviet"
    fields = {"name": "KiotViet shop", "code": "kv-shop", "cred__client_id": "demo-kiotviet",
              "cred__client_secret": "demo-kiotviet-secret", "cred__retailer": "demoshop"}
    for name, value in fields.items():
        browser.find_element(By.NAME, name).send_keys(value)
    for name, value in {"base_url": base, "cfg__token_url": f"{base}/connect/token"}.items():
        box = browser.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)
    assert browser.find_element(By.NAME, "cred__client_secret").get_attribute("type") == "password"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})",
                           browser.find_element(By.NAME, "cred__client_id"))
    screenshot(browser, "connect-form")
    browser.find_element(By.ID, "hub-save-and-test").click()

    WebDriverWait(browser, 60).until(ec.presence_of_element_located((By.ID, "hub-test-result")))
    result = browser.find_element(By.ID, "hub-test-result").text.lower()
    assert "works" in result, browser.page_source[:3000]
    integration = Integration.objects.get(code="kv-shop")
    assert integration.credentials["client_secret"] == "demo-kiotviet-secret"
    assert integration.last_connected_at is not None
    assert "demo-kiotviet-secret" not in browser.page_source


def test_connection_test_failure_shows_the_providers_message(browser, staff, org, live_server):
    integration = demo_store(org, live_server)
    integration.credentials = {**integration.credentials, "client_secret": "wrong-secret"}
    integration.save()
    log_in(browser, staff.username)
    browser.get(f"{live_server.url}{reverse('admin:integrations_integration_change', args=[integration.pk])}")
    browser.find_element(By.ID, "hub-save-and-test").click()
    WebDriverWait(browser, 60).until(
        lambda d: "failed" in d.find_element(By.ID, "hub-test-result").text.lower())
    # The sandbox's own words for a wrong secret reach the page.
    assert "unknown client or wrong secret" in browser.page_source


@pytest.mark.worker
def test_sync_now_and_watch_the_progress_bars_complete(browser, staff, org, live_server, celery_worker_proc):
    integration = demo_store(org, live_server)
    slow_down(integration, seconds=0.6, count=12)
    log_in(browser, staff.username)
    browser.get(f"{live_server.url}{reverse('admin:integrations_integration_change', args=[integration.pk])}")
    browser.find_element(By.ID, "hub-sync-now-button").click()
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".hub-progress")))
    # The bars move while the products job runs, without reloading the page.
    wait_for(lambda: SyncJob.objects.filter(integration=integration, stream="products", status="running",
                                            pages__gte=2).exists(), timeout=60, message="products job running")
    time.sleep(2)  # two polls
    screenshot(browser, "sync-running")
    WebDriverWait(browser, 120).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".hub-progress") and all(
        bar.get_attribute("data-status") == "completed" for bar in d.find_elements(By.CSS_SELECTOR, ".hub-progress")))
    products = browser.find_element(By.CSS_SELECTOR, ".hub-progress-fill.done")
    assert products.value_of_css_property("width") != "0px"
    assert {j.status for j in SyncJob.objects.filter(integration=integration)} == {"completed"}
    assert "120 records" in browser.page_source


def test_retry_a_failed_webhook(browser, staff, org, live_server):
    integration = demo_store(org, live_server)
    event = WebhookEvent.objects.create(organization=org, integration=integration, provider="demo",
                                        status="failed", attempts=5, body=b'{"type": "product.updated"}',
                                        last_error="handler exploded")
    log_in(browser, staff.username)
    browser.get(f"{live_server.url}{reverse('admin:webhooks_webhookevent_change', args=[event.pk])}")
    browser.find_element(By.ID, "hub-retry-event").click()
    WebDriverWait(browser, 20).until(lambda d: "queued for another attempt" in d.page_source)
    event.refresh_from_db()
    assert event.status in ("pending", "processing", "completed", "failed") and event.attempts <= 1


def test_another_organizations_pages_are_404_or_empty_and_no_secret_shows(browser, staff, org, other_org,
                                                                          make_user, live_server):
    theirs = demo_store(other_org, live_server)
    theirs.name = "Globex private shop"
    theirs.save()
    job = SyncJob.objects.create(organization=other_org, integration=theirs, stream="products", status="failed",
                                 error_message="globex-only-error")
    WebhookEvent.objects.create(organization=other_org, integration=theirs, provider="demo", status="failed",
                                body=b"{}", event_type="globex.only")
    IntegrationLog.objects.create(organization=other_org, integration=theirs, action="globex-only-action",
                                  sync_job_id=job.pk)
    mine = demo_store(org, live_server)
    secrets = [mine.credentials["client_secret"], theirs.credentials["client_secret"], mine.webhook_secret]
    log_in(browser, staff.username)
    checked = 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        try:
            listing = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        except NoReverseMatch:
            continue
        browser.get(f"{live_server.url}{listing}")
        html = browser.page_source
        for marker in ("Globex private shop", "globex-only-error", "globex.only", "globex-only-action", *secrets):
            assert marker not in html, (listing, marker)
        field = getattr(model_admin, "org_field", None)
        if field is None:
            continue
        for row in model._default_manager.filter(**{field: other_org})[:2]:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
            browser.get(f"{live_server.url}{change}")
            html = browser.page_source
            assert "Globex private shop" not in html and ("404" in browser.title or "Not Found" in html
                                                         or "not found" in html.lower()), (opts.label, row.pk)
            checked += 1
    assert checked >= 4
    # My own integration's page: the secrets are not in it either.
    browser.get(f"{live_server.url}{reverse('admin:integrations_integration_change', args=[mine.pk])}")
    assert "Demo Store" in browser.page_source
    for secret in secrets:
        assert secret not in browser.page_source
