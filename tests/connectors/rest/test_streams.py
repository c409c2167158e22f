"""The REST connector against its sandbox over HTTP: each pagination style, each auth type, faults."""

from __future__ import annotations

import base64
import re

import pytest

from connectors.errors import AuthError, ConfigError, FatalError
from integrations.models import IntegrationLog
from records.models import Category, Customer, Location, Order, Product
from tests.connectors.kiotviet.conftest import run_sync
from tests.connectors.rest.conftest import read_all

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("stream", "records", "pages"), [
    ("categories", 20, 3),  # page number: two full pages of 10, then an empty one
    ("customers", 250, 3),  # offset/limit: 100, 100, 50
    ("orders", 300, 3),  # Link header: three pages of 100, the last without rel="next"
    ("locations", 4, 1),  # no pagination
    ("products", 10_000, 20),  # cursor from the body, 500 a page
])
def test_each_pagination_style_reads_every_record_once(make_rest, stream, records, pages):
    connector = make_rest()
    read = read_all(connector, stream)
    ids = [r["id"] for page in read for r in page.records]
    assert len(ids) == len(set(ids)) == records
    assert len(read) == pages
    assert all(p.cursor.get("resume") for p in read[:-1]) and "resume" not in read[-1].cursor


def test_incremental_reads_from_the_largest_value_and_resumes_mid_run(make_rest, rest_sandbox, account):
    connector = make_rest(streams=["products"])
    pages = read_all(connector, "products")
    final = pages[-1].cursor
    assert final == {"since": "2026-01-01T02:46:40Z"}  # item 10,000's updated_at
    rest_sandbox.control(account, "touch", start=10, count=3)
    changed = [r["id"] for p in read_all(connector, "products", final, full=False) for r in p.records]
    assert changed == ["itm-10000", "itm-00010", "itm-00011", "itm-00012"]  # inclusive: the last one again
    # A checkpoint mid-run resumes with the next request, under the run's own since (the three items
    # touched meanwhile moved to the end of the (updated_at, id) order).
    resumed = read_all(connector, "products", pages[17].cursor, full=False)
    assert [len(p.records) for p in resumed] == [500, 500, 3]


def test_a_full_sync_of_every_style_through_the_runner(make_rest):
    connector = make_rest()
    jobs = run_sync(connector, full=True)
    assert {s: (j.status, j.records_created, j.records_failed) for s, j in jobs.items()} == {
        "categories": ("completed", 20, 0), "products": ("completed", 10_000, 0),
        "customers": ("completed", 250, 0), "orders": ("completed", 300, 0), "locations": ("completed", 4, 0)}
    integ = connector.integration
    p = Product.objects.select_related("category").get(integration=integ, external_id="itm-00007")
    assert (p.name, p.sku, p.barcode, p.price, p.cost, p.currency, p.unit, p.is_active) == (
        "Item 7 Blue", "SKU-00007", "4006381000007", pytest.approx(p.price), p.cost, "EUR", "pcs", False)
    assert str(p.price) == "3.5900" and str(p.cost) == "13.0000"
    assert p.attributes == {"released": "2025-01-08", "updated_at": "2026-01-01T00:00:07+00:00", "weight_g": 7}
    assert p.category.external_id == "cat-8"
    five = Product.objects.get(integration=integ, external_id="itm-00005")
    assert (five.name, five.currency, five.is_active) == ("Item 5", "USD", True)  # no variant; default currency
    order = Order.objects.select_related("customer").get(integration=integ, external_id="ord-3")
    assert order.customer.external_id == "4" and str(order.total) == "21.9300"
    assert Customer.objects.get(integration=integ, external_id="1").email == "customer1@example.com"
    assert Location.objects.get(integration=integ, external_id="loc-1").kind == "store"
    assert Category.objects.filter(integration=integ).count() == 20


@pytest.mark.parametrize(("auth", "credentials"), [
    ({"type": "api_key", "name": "X-API-Key", "in": "header"}, {"api_key": "rk_{acct}"}),
    ({"type": "api_key", "name": "api_key", "in": "query"}, {"api_key": "rk_{acct}"}),
    ({"type": "bearer"}, {"token": "rt_{acct}"}),
    ({"type": "basic", "username": "{acct}"}, {"password": "{acct}-pass"}),
    ({"type": "oauth2", "token_url": "/oauth/token", "client_id": "{acct}", "scopes": "read"},
     {"client_secret": "{acct}-secret"}),
])
def test_every_auth_type(make_rest, account, auth, credentials):
    fill = {k: v.format(acct=account) for k, v in auth.items()}
    connector = make_rest(streams=["locations"], auth=fill,
                          credentials={k: v.format(acct=account) for k, v in credentials.items()})
    assert "read 4 record(s) from the first page of locations" in connector.test_connection()
    # No secret in the call log: the query key is masked, headers are not logged.
    logged = " ".join(IntegrationLog.objects.filter(integration=connector.integration)
                      .values_list("endpoint", flat=True))
    assert f"rk_{account}" not in logged and f"{account}-secret" not in logged


@pytest.mark.parametrize(("auth", "credentials", "error"), [
    ({"type": "api_key", "name": "X-API-Key", "in": "header"}, {"api_key": "rk_"}, AuthError),
    ({"type": "bearer"}, {"token": "wrong"}, AuthError),
    ({"type": "basic", "username": "x"}, {"password": "nope"}, AuthError),
    ({"type": "oauth2", "token_url": "/oauth/token", "client_id": "x"}, {"client_secret": "bad"}, AuthError),
    ({"type": "bearer"}, {}, ConfigError),  # the credential its auth type needs is missing
])
def test_refused_credentials_are_auth_errors(make_rest, auth, credentials, error):
    connector = make_rest(streams=["locations"], auth=auth, credentials=credentials)
    with pytest.raises(error):
        connector.test_connection()


def test_basic_header_is_standard(make_rest, account):
    connector = make_rest(streams=["locations"], auth={"type": "basic", "username": account},
                          credentials={"password": f"{account}-pass"})
    header = connector.auth_headers(None)["Authorization"]
    assert base64.b64decode(header[6:]).decode() == f"{account}:{account}-pass"


def test_an_expired_oauth_token_is_renewed_once(make_rest, rest_sandbox, account):
    connector = make_rest(streams=["locations"])
    connector.test_connection()
    rest_sandbox.control(account, "expire_tokens")
    assert len(read_all(connector, "locations")[0].records) == 4
    assert rest_sandbox.control(account, "clear_faults")["token_requests"] == 2


def test_429_and_500_are_retried(make_rest, rest_sandbox, account, settings):
    settings.CONNECTOR_HTTP_RETRY_AFTER_MAX = 2
    connector = make_rest(streams=["categories"])
    rest_sandbox.control(account, "fault", kind="rate_limit", resource="categories", retry_after=1)
    rest_sandbox.control(account, "fault", kind="status", resource="categories", status=500, **{"from": 3, "to": 3})
    assert sum(len(p.records) for p in read_all(connector, "categories")) == 20
    assert rest_sandbox.control(account, "clear_faults")["requests"]["categories"] == 5


@pytest.mark.parametrize(("kind", "message"), [
    ("malformed", "answered 200 with a body that is not JSON"),
    ("missing_path", "the answer has no records at 'data.items' (it has: unexpected)"),
])
def test_a_bad_answer_is_a_clear_fatal_error(make_rest, rest_sandbox, account, kind, message):
    connector = make_rest(streams=["products"])
    rest_sandbox.control(account, "fault", kind=kind, resource="items", **{"from": 2, "to": 2})
    with pytest.raises(FatalError, match=re.escape(message)):
        read_all(connector, "products")
