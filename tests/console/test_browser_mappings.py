"""Field mappings and the generic REST connector in a real browser (headless Chromium), as staff use them.

Connect a REST integration through the connect form against the REST sandbox (a bad stream is refused
with its error, nothing saved); edit a stream's mapping with a transform (a bad row shows its error);
preview one page (rows that would be created, nothing written); sync and find the mapping applied.
Override a field of a built-in provider's stream the same way. Another organization's mapping page
is a 404. Screenshots of the mapping editor and of a preview go to docs/screenshots/.
"""

from __future__ import annotations

import json

import pytest
import requests
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from integrations.models import Integration
from records.models import Product
from syncjobs.services import start_sync

from .conftest import screenshot
from .test_browser import PASSWORD, demo_store, finished, log_in

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff(org, make_user):
    user = make_user(org, "admin", username="mapping-admin", is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def mapping_url(live_server, integration, stream: str | None = None) -> str:
    if stream is None:
        return f"{live_server.url}{reverse('admin:integrations_integration_mappings', args=[integration.pk])}"
    return f"{live_server.url}{reverse('admin:integrations_integration_mapping', args=[integration.pk, stream])}"


def add_row(driver, target: str, source: str, transforms: list[tuple[str, str]] = ()) -> int:
    """Add a mapping row in the page (as a person does: "+ Add field", then fill it); its index."""
    body = driver.find_element(By.ID, "hub-mapping-rows")
    index = int(body.get_attribute("data-next"))
    driver.find_element(By.ID, "hub-add-row").click()
    row = driver.find_element(By.CSS_SELECTOR, f'#hub-mapping-rows tr[data-row="{index}"]')
    Select(row.find_element(By.NAME, f"m-{index}-target")).select_by_value(target)
    row.find_element(By.NAME, f"m-{index}-source").send_keys(source)
    for n, (op, params) in enumerate(transforms):
        row.find_element(By.CSS_SELECTOR, "[data-add-row]").click()
        Select(row.find_element(By.NAME, f"m-{index}-t-{n}-op")).select_by_value(op)
        if params:
            row.find_element(By.NAME, f"m-{index}-t-{n}-params").send_keys(params)
    return index


def click(driver, element_id: str) -> None:
    button = driver.find_element(By.ID, element_id)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()


@pytest.mark.worker
def test_override_a_built_in_providers_field_and_the_sync_uses_it(browser, staff, org, live_server,
                                                                   celery_worker_proc):
    integration = demo_store(org, live_server)
    log_in(browser, staff.username)
    browser.get(f"{live_server.url}{reverse('admin:integrations_integration_change', args=[integration.pk])}")
    browser.find_element(By.ID, "hub-mappings-link").click()
    browser.find_element(By.CSS_SELECTOR, '[data-stream-link="products"]').click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "hub-mapping-form")))

    # A bad row first: its error is shown on it, nothing is saved.
    add_row(browser, "description", "name", [("upper", "")])
    bad = add_row(browser, "cost", "price", [("minor_to_major", '{"exponent": 9}')])
    click(browser, "hub-save-mapping")
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "hub-mapping-errors")))
    errors = browser.find_element(By.CSS_SELECTOR, f'tr[data-row="{bad}"] + tr.hub-row-errors').text
    assert "exponent" in errors, errors
    integration.refresh_from_db()
    assert "field_mappings" not in integration.config

    # Remove the bad row, save: stored, shown again.
    browser.find_element(By.CSS_SELECTOR, f'tr[data-row="{bad}"] .hub-remove-field').click()
    click(browser, "hub-save-mapping")
    WebDriverWait(browser, 10).until(lambda d: "Saved 1 field mapping" in d.page_source)
    integration.refresh_from_db()
    assert integration.config["field_mappings"]["products"] == [
        {"target": "description", "source": "name", "transforms": [{"op": "upper"}], "ref": False}]

    start_sync(integration, trigger="manual", streams=["categories", "products"])
    jobs = finished(integration)
    assert {j.status for j in jobs} == {"completed"}, [(j.stream, j.error_message) for j in jobs]
    products = list(Product.objects.filter(integration=integration))
    assert products and all(p.description == p.name.upper() for p in products)


def test_another_organizations_mapping_page_is_404(browser, org, other_org, make_user, live_server):
    theirs = demo_store(other_org, live_server)
    theirs.name = "Globex private shop"
    theirs.save()
    outsider = make_user(org, "admin", username="acme-admin", is_staff=True)
    outsider.set_password(PASSWORD)
    outsider.save()
    log_in(browser, outsider.username)
    for page in (mapping_url(live_server, theirs), mapping_url(live_server, theirs, "products")):
        browser.get(page)
        html = browser.page_source
        assert "Globex private shop" not in html
        assert "404" in browser.title or "not found" in html.lower(), page


def fill(driver, name: str, value: str) -> None:
    box = driver.find_element(By.NAME, name)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.clear()
    box.send_keys(value)


@pytest.mark.worker
def test_connect_a_rest_api_map_preview_and_sync(browser, staff, org, live_server, celery_worker_proc):
    base = f"{live_server.url}/sandbox/rest"
    account = "console-browser"
    assert requests.post(f"{base}/_control", json={"account": account, "action": "reset"}, timeout=10).ok
    assert requests.post(f"{base}/_control", json={"account": account, "action": "sizes",
                                                   "sizes": {"items": 12}}, timeout=10).ok
    log_in(browser, staff.username)
    browser.get(f"{live_server.url}{reverse('admin:integrations_integration_add')}")
    browser.find_element(By.CSS_SELECTOR, '[data-provider="rest"]').click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.NAME, "cfg__auth.type")))
    assert not browser.find_elements(By.NAME, "config")  # no JSON to type for auth and streams

    def fill_form(cursor_path: str) -> None:
        Select(browser.find_element(By.NAME, "organization")).select_by_value(str(org.pk))
        fill(browser, "name", "Shop API")
        fill(browser, "code", "shop-api")
        fill(browser, "base_url", base)
        Select(browser.find_element(By.NAME, "cfg__auth.type")).select_by_value("api_key")
        assert browser.find_element(By.NAME, "cfg__auth.name").is_displayed()  # shown for api_key only
        assert not browser.find_element(By.NAME, "cfg__auth.token_url").is_displayed()
        fill(browser, "cred__api_key", f"rk_{account}")
        assert browser.find_element(By.NAME, "cred__api_key").get_attribute("type") == "password"
        if not browser.find_elements(By.NAME, "cfg__streams-0.name"):
            add = browser.find_element(By.CSS_SELECTOR, '[data-add-for="cfg__streams"]')
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", add)
            add.click()
        fill(browser, "cfg__streams-0.name", "products")
        fill(browser, "cfg__streams-0.path", "/items")
        Select(browser.find_element(By.NAME, "cfg__streams-0.model")).select_by_value("records.Product")
        fill(browser, "cfg__streams-0.records_path", "data.items")
        Select(browser.find_element(By.NAME, "cfg__streams-0.pagination.style")).select_by_value("cursor")
        assert not browser.find_element(By.NAME, "cfg__streams-0.pagination.page_param").is_displayed()
        fill(browser, "cfg__streams-0.pagination.cursor_path", cursor_path)
        fill(browser, "cfg__streams-0.pagination.size_param", "limit")
        fill(browser, "cfg__streams-0.pagination.size", "5")
        fill(browser, "cfg__streams-0.incremental.param", "updated_since")
        fill(browser, "cfg__streams-0.incremental.field", "updated_at")
        fill(browser, "cfg__field_mappings", json.dumps({"products": [{"target": "name", "source": "title"}]}))

    # A bad stream (cursor pagination, but where the next cursor is left blank): its error is on the
    # card, nothing is saved.
    fill_form("")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})",
                           browser.find_element(By.CSS_SELECTOR, '[data-object="cfg__auth"]'))
    screenshot(browser, "rest-connect-form")
    click(browser, "hub-save-and-test")
    WebDriverWait(browser, 20).until(lambda d: "cursor pagination needs cursor_path" in d.page_source)
    card = browser.find_element(By.CSS_SELECTOR, '[data-object-list="cfg__streams"] [data-card="0"]')
    assert "cursor pagination needs cursor_path" in card.text
    assert not Integration.objects.filter(code="shop-api").exists()
    assert f"rk_{account}" not in browser.page_source  # the typed key is not echoed back

    fill_form("meta.next")
    click(browser, "hub-save-and-test")
    WebDriverWait(browser, 60).until(ec.presence_of_element_located((By.ID, "hub-test-result")))
    assert "works" in browser.find_element(By.ID, "hub-test-result").text.lower(), browser.page_source[:3000]
    integration = Integration.objects.get(code="shop-api")
    assert integration.credentials == {"api_key": f"rk_{account}"}
    assert integration.config["streams"][0]["pagination"]["cursor_path"] == "meta.next"

    # The mapping editor: the stored row, plus a price with a transform; a bad row is refused first.
    browser.find_element(By.ID, "hub-mappings-link").click()
    browser.find_element(By.CSS_SELECTOR, '[data-stream-link="products"]').click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "hub-mapping-form")))
    assert "map at least name" in browser.find_element(By.ID, "hub-required").text
    price = add_row(browser, "price", "price_cents", [("minor_to_major", '{"exponent": 2}')])
    bad = add_row(browser, "sku", "sku..code")
    click(browser, "hub-save-mapping")
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "hub-mapping-errors")))
    assert "empty segment" in browser.find_element(By.CSS_SELECTOR, f'tr[data-row="{bad}"] + tr.hub-row-errors').text
    browser.find_element(By.CSS_SELECTOR, f'tr[data-row="{bad}"] .hub-remove-field').click()

    # Preview one page with the rows as they stand (unsaved): five products would be created.
    click(browser, "hub-preview")
    WebDriverWait(browser, 60).until(ec.presence_of_element_located((By.ID, "hub-preview-result")))
    created = browser.find_elements(By.CSS_SELECTOR, "#hub-preview-create tbody tr")
    assert len(created) == 5
    assert "Item 1" in created[0].text and "1.3700" in created[0].text
    assert "5 would be created" in browser.find_element(By.ID, "hub-preview-result").text.lower()
    assert not Product.objects.filter(integration=integration).exists()  # nothing written
    integration.refresh_from_db()
    assert len(integration.config["field_mappings"]["products"]) == 1  # nor the mapping saved
    browser.execute_script("document.getElementById('hub-preview-result').scrollIntoView({block: 'start'})")
    screenshot(browser, "mapping-preview")

    click(browser, "hub-save-mapping")
    WebDriverWait(browser, 10).until(lambda d: "Saved 2 field mapping" in d.page_source)
    assert browser.find_element(By.NAME, f"m-{price}-t-0-op").get_attribute("value") == "minor_to_major"
    screenshot(browser, "mapping-editor")

    # The sync writes what the preview showed.
    start_sync(integration, trigger="manual")
    jobs = finished(integration)
    assert {j.status for j in jobs} == {"completed"}, [(j.stream, j.error_message) for j in jobs]
    first = Product.objects.get(integration=integration, external_id="itm-00001")
    assert first.name == "Item 1" and str(first.price) == "1.3700"
    assert Product.objects.filter(integration=integration).count() == 12
