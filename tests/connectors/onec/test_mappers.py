"""1C payloads (connectors/onec/fixtures/) -> our records: one fixture, one expected result."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from rest_framework import serializers

from connectors.errors import MappingError
from connectors.onec import mappers
from connectors.onec.client import OneCConnector, basic_header, odata_message
from connectors.onec.schemas import entities, properties
from connectors.onec.seed import demo_integrations

FIXTURES = Path(__file__).resolve().parents[3] / "connectors" / "onec" / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_product_takes_code_article_full_name_unit_and_its_group():
    row = mappers.product(fixture("catalog.product.json"))
    assert row.external_id == "96289644-7af3-11e9-92fa-000c2979dd34"
    assert row.fields["sku"] == "KZ-1000" and row.fields["name"] == "Кофе зерновой 1 кг"
    assert row.fields["description"] == "Кофе зерновой «Арабика» 1 кг" and row.fields["unit"] == "шт"
    assert row.fields["attributes"]["code"] == "00-00000150"
    assert row.refs == {"category": "6f1b2c10-7af3-11e9-92fa-000c2979dd34"}


def test_product_without_article_falls_back_to_its_code():
    raw = {**fixture("catalog.product.json"), "Артикул": ""}
    assert mappers.product(raw).fields["sku"] == "00-00000150"


def test_top_level_group_has_no_parent():
    row = mappers.category(fixture("catalog.group.json"))
    assert row.fields == {"name": "Бакалея"} and row.refs == {"parent": None}


def test_counterparty_contacts_first_of_each_type():
    row = mappers.counterparty(fixture("catalog.counterparty.json"))
    assert row.fields == {"name": "ООО «Молочный двор»", "code": "00-00000042", "tax_id": "7701234567",
                          "phone": "+7 (495) 123-45-67", "email": "", "address": "г. Москва, ул. Ленина, д. 5"}


def test_sales_document_in_the_infobase_time_zone_with_its_lines():
    raw = fixture("document.sales.json")
    row = mappers.invoice("sales")(raw)
    assert row.fields["kind"] == "sales" and row.fields["number"] == "РТ00-000117"
    assert row.fields["issued_at"] == datetime(2024, 3, 5, 10, 15, tzinfo=ZoneInfo("Europe/Moscow"))
    assert row.fields["total"] == Decimal("1026.5") and row.fields["status"] == "posted"
    assert row.refs == {"customer": "3a0e9b1c-5d77-4f3e-8c21-6b0f2d9e4c11",
                        "location": "7c3f0a52-1b6e-4d2e-9a57-0d4e55c1a001", "order": None}
    lines = mappers.lines(raw, "invoice")
    assert [x.external_id for x in lines] == [f"{row.external_id}/1", f"{row.external_id}/2"]
    assert lines[0].fields["quantity"] == 12 and lines[0].fields["unit_price"] == Decimal("85.5")
    assert lines[0].refs == {"product": "96289644-7af3-11e9-92fa-000c2979dd34", "invoice": row.external_id}
    assert lines[1].refs["product"] is None  # the empty reference: a line without a product


def test_purchase_document_refers_to_its_supplier():
    row = mappers.invoice("purchases")(fixture("document.sales.json"))
    assert row.fields["kind"] == "purchase" and "supplier" in row.refs and "customer" not in row.refs


def test_price_slice_and_stock_balance_rows():
    price = mappers.price(fixture("register.prices.slicelast.json")["value"][0])
    assert price.external_id == "price:4c912650-0e95-11e0-ad48-000c29dcd88a:96289644-7af3-11e9-92fa-000c2979dd34"
    assert price.fields["name"] == "Розничная" and price.fields["amount"] == Decimal("1290")
    stock = mappers.stock(fixture("register.stock.balance.json")["value"][0])
    assert stock.external_id == "96289644-7af3-11e9-92fa-000c2979dd34:7c3f0a52-1b6e-4d2e-9a57-0d4e55c1a001"
    assert (stock.fields["quantity"], stock.fields["reserved"]) == (40, 4)
    assert stock.refs == {"product": "96289644-7af3-11e9-92fa-000c2979dd34",
                          "location": "7c3f0a52-1b6e-4d2e-9a57-0d4e55c1a001"}


@pytest.mark.parametrize("raw, message", [
    ({"Description": "Без ключа"}, "no Ref_Key"),
    ({"Ref_Key": "00000000-0000-0000-0000-000000000000", "Description": "x"}, "no Ref_Key"),
    ({"Ref_Key": "96289644-7af3-11e9-92fa-000c2979dd34", "Description": ""}, "no Description"),
])
def test_unmappable_objects_fail_alone_with_a_reason(raw, message):
    with pytest.raises(MappingError, match=message):
        mappers.product(raw)


def test_english_configuration_property_names_come_from_config():
    config = {"mapping": {"products": "Catalog_Nomenclature", "orders": "Document_SalesOrder"},
              "properties": {"article": "SKU"}}
    names = entities(config)
    assert names["products"] == names["categories"] == "Catalog_Nomenclature"
    assert names["orders"] == "Document_SalesOrder" and names["suppliers"] == "Catalog_Контрагенты"
    raw = {**fixture("catalog.product.json"), "SKU": "EN-1", "_properties": {"article": "SKU"}}
    assert mappers.product(raw).fields["sku"] == "EN-1" and properties(config)["article"] == "SKU"


def test_config_validation_names_the_problem():
    ok = OneCConnector.validate_config({"mapping": {"products": "Catalog_Nomenclature"}})
    assert ok["page_size"] == 500 and ok["document_sync"] == "date"
    for bad in ({"mapping": {"goods": "Catalog_X"}}, {"mapping": {"products": "Номенклатура"}},
                {"mapping": {"orders": ""}}, {"properties": {"article": "два слова"}}, {"timezone": "Mars/Base"}):
        with pytest.raises(serializers.ValidationError):
            OneCConnector.validate_config(bad)
    assert OneCConnector.all_secret_fields() == ("password", "username")


def test_cyrillic_basic_credentials_are_utf8_where_requests_own_helper_fails():
    assert basic_header("Администратор", "пароль") == "Basic 0JDQtNC80LjQvdC40YHRgtGA0LDRgtC+0YA60L/QsNGA0L7Qu9GM"
    with pytest.raises(UnicodeEncodeError):
        requests.auth._basic_auth_str("Администратор", "пароль")


def test_error_answers_are_read_in_1c_shapes():
    def answer(body: str, content_type: str = "application/json", status: int = 500) -> requests.Response:
        resp = requests.Response()
        resp.status_code, resp._content = status, body.encode()
        resp.headers["Content-Type"] = content_type
        return resp

    assert odata_message(answer((FIXTURES / "error.odata.json").read_text())).startswith(
        "1C error -1: Произошла внутренняя ошибка OData сервиса")
    assert odata_message(answer((FIXTURES / "error.exception.json").read_text())) == (
        "1C platform exception: Не обнаружено свободной лицензии!; "
        "Ошибка при выполнении операции с информационной базой")
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    assert "HTML page ('502 Bad Gateway')" in odata_message(answer(html, "text/html"))


def test_demo_seed_is_a_valid_integration_of_this_connector():
    [spec] = demo_integrations("http://127.0.0.1:8000")
    assert spec["provider"] == "1c" and spec["base_url"].endswith("/sandbox/1c/demo-trade")
    OneCConnector.validate_config(spec["config"])
    OneCConnector.validate_credentials(spec["credentials"])


@pytest.mark.parametrize("given, root", [
    ("https://1c.company.uz/trade", "https://1c.company.uz/trade/odata/standard.odata"),
    ("https://1c.company.uz/trade/", "https://1c.company.uz/trade/odata/standard.odata"),
    ("https://1c.company.uz/api/odata", "https://1c.company.uz/api/odata/standard.odata"),
    ("https://1c.company.uz/trade/odata/standard.odata/", "https://1c.company.uz/trade/odata/standard.odata"),
])
def test_base_url_is_the_publication_or_its_odata_root(given, root):
    from integrations.models import Integration

    assert OneCConnector(Integration(provider="1c", base_url=given)).base_url == root
