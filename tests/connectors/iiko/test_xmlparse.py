"""iiko's XML and JSON answers -> records: each fixture in connectors/iiko/fixtures gives this result."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from connectors.errors import FatalError, MappingError
from connectors.iiko import mappers
from connectors.iiko.streams import revision_pages
from connectors.iiko.xmlparse import as_list, parse_json_list, parse_list, ref, text

FIXTURES = Path(__file__).resolve().parents[3] / "connectors" / "iiko" / "fixtures"
CORPORATE = ("corporateItemDtoes", "corporateItemDto")


def answer(content: bytes, ctype: str = "application/xml", status: int = 200) -> requests.Response:
    resp = requests.Response()
    resp.status_code, resp._content = status, content
    resp.headers["Content-Type"] = ctype
    resp.request = requests.Request("GET", "https://chain.iiko.it/resto/api/corporation/departments?key=k").prepare()
    return resp


def fixture(name: str, ctype: str = "application/xml") -> requests.Response:
    return answer((FIXTURES / name).read_bytes(), ctype)


def test_a_list_of_one_stays_a_list():
    items = parse_list(fixture("departments.one.xml"), *CORPORATE)

    assert len(items) == 1 and items[0]["name"] == "Ресторан «Байкал» №1"
    row = mappers.corporate_item(items[0])
    assert row.fields == {"name": "Ресторан «Байкал» №1", "code": "101", "kind": "restaurant"}
    assert row.refs == {"parent": "0c9d1f44-2e0b-4a51-8f0c-93d3b2e4b9f0"}


def test_an_empty_list_is_empty():
    assert parse_list(fixture("departments.empty.xml"), *CORPORATE) == []
    assert parse_list(answer(b"<corporateItemDtoes></corporateItemDtoes>"), *CORPORATE) == []


@pytest.mark.parametrize("content", [
    b"\xef\xbb\xbf" + "<corporateItemDtoes><corporateItemDto><name>Бар</name></corporateItemDto></corporateItemDtoes>"
    .encode(),
    "<?xml version='1.0' encoding='windows-1251'?><corporateItemDtoes><corporateItemDto><name>Бар</name>"
    "</corporateItemDto></corporateItemDtoes>".encode("cp1251"),
])
def test_byte_order_mark_and_declared_encodings(content):
    assert parse_list(answer(content), *CORPORATE) == [{"name": "Бар"}]


def test_missing_and_empty_optional_elements():
    first, second = (mappers.corporate_item(i) for i in parse_list(fixture("stores.many.xml"), *CORPORATE))

    assert first.fields["kind"] == "store" and first.refs["parent"].endswith("a001")
    assert second.fields["code"] == "" and second.refs == {"parent": None}


def test_supplier_names_from_name_or_n_and_a_placeholder_with_a_warning():
    good, nameless = parse_list(fixture("suppliers.xml"), "employees", "employee")

    row = mappers.supplier(good)
    assert row.fields["name"] == "ООО «Молочный двор»" and row.fields["tax_id"] == "7701234567"
    assert row.fields["email"] == "" and row.fields["code"] == "П-0042" and row.warnings == []
    empty = mappers.supplier(nameless)  # <name></name>
    assert empty.fields["name"] == "Unnamed supplier" and empty.fields["code"] == "П-0043"
    assert empty.warnings == ["no <name> or <n>: saved as 'Unnamed supplier'"]

    short, absent = (mappers.supplier(s) for s in parse_list(fixture("suppliers.names.xml"), "employees", "employee"))
    assert short.fields["name"] == "ИП Смирнова" and short.warnings == []
    assert absent.fields["name"] == "Unnamed supplier" and absent.warnings and absent.external_id.endswith("4c22")


def test_corporate_item_names_from_name_or_n_and_a_placeholder_with_a_warning():
    short, absent = (mappers.corporate_item(i) for i in parse_list(fixture("departments.names.xml"), *CORPORATE))

    assert short.fields == {"name": "Кафе «Ока»", "code": "111", "kind": "restaurant"} and short.warnings == []
    assert absent.fields == {"name": "Unnamed store", "code": "112", "kind": "store"}
    assert absent.warnings == ["no <name> or <n>: saved as 'Unnamed store'"]
    with pytest.raises(MappingError, match="missing id"):  # without an id there is nothing to sync
        mappers.corporate_item({"n": "Бар"})


def test_invoices_short_and_long_forms_attributes_and_empty_items():
    docs = parse_list(fixture("incoming_invoices.xml"), "incomingInvoiceDtoes", "document", force_list=("item",))
    tz = ZoneInfo("Europe/Moscow")

    one, two, empty = (mappers.incoming_invoice(d, tz, "RUB") for d in docs)
    assert one.refs == two.refs == {"supplier": "3a0e9b1c-5d77-4f3e-8c21-6b0f2d9e4c11",
                                    "location": "5e1a7d20-0000-4000-8000-000000000001"}
    assert one.fields["total"] == Decimal("1026.00") and one.fields["issued_at"].utcoffset().seconds == 3 * 3600
    assert empty.refs == {"supplier": None, "location": None} and empty.fields["total"] == 0

    lines = mappers.invoice_lines(docs[0])  # one <item>: still a list
    assert [(line.external_id, line.fields["quantity"]) for line in lines] == [
        ("e1b5c0de-77aa-4c3b-9d10-2f6a8b4c3d21/1", Decimal("12.000"))]  # the attribute form of <amount>
    assert lines[0].refs == {"product": "5b2d7e10-9f44-4c8a-b1d2-0a9e3c7f6b55",
                             "invoice": "e1b5c0de-77aa-4c3b-9d10-2f6a8b4c3d21"}
    assert [line.fields["quantity"] for line in mappers.invoice_lines(docs[1])] == [Decimal(1), Decimal("2.5")]
    assert mappers.invoice_lines(docs[2]) == []


def test_products_json_with_units():
    raw = parse_json_list(fixture("products.json", "application/json"))[0]
    raw["_mainUnitName"] = "л"

    row = mappers.product(raw)

    assert row.fields["sku"] == "00231" and row.fields["unit"] == "л" and row.fields["price"] == Decimal("150.0")
    assert row.fields["units"] == [{"name": "Коробка", "factor": "24.0", "id": "c0000000-0000-4000-8000-000000000001"}]
    assert row.fields["attributes"]["type"] == "GOODS" and row.refs == {"category": raw["parent"]}


WRONG_ROOT = "expected <corporateItemDtoes>, got <errorInfo>"


@pytest.mark.parametrize("content, ctype, message", [
    (b"<corporateItemDtoes><corporateItemDto><id>1</id>", "application/xml", "malformed XML"),
    (b"<!DOCTYPE html><html><head><title>Bad Gateway</title></head></html>", "text/html", "HTML page (Bad Gateway)"),
    (b"<html><body>login</body></html>", "application/xml", "HTML page"),
    (b"<errorInfo><message>x</message></errorInfo>", "application/xml", WRONG_ROOT),
    (b"<errorInfo/>", "application/xml", WRONG_ROOT),
    (b"", "application/xml", "malformed XML"),
    (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><corporateItemDtoes>&a;</corporateItemDtoes>",
     "application/xml", "XML"),
])
def test_bad_answers_are_clear_errors(content, ctype, message):
    with pytest.raises(FatalError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_list(answer(content, ctype), *CORPORATE)


@pytest.mark.parametrize("content, message", [(b"{\"error\": 1}", "expected a JSON array"),
                                              (b"not json", "not JSON"), (b"[1, 2]", "expected a JSON array")])
def test_bad_json_answers(content, message):
    with pytest.raises(FatalError, match=message):
        parse_json_list(answer(content, "application/json"))


def test_value_helpers():
    assert text({"@unit": "kg", "#text": " 12 "}) == "12" and text("  ") is None and text(None) is None
    assert ref({"id": "abc", "name": "x"}) == "abc" and ref("abc") == "abc" and ref(None) is None
    assert as_list(None, "item") == [] and as_list({"item": {"a": 1}}, "item") == [{"a": 1}]


def test_revision_pages_checkpoint_only_fully_written_revisions():
    items = [{"id": str(i), "revision": str(r)} for i, r in enumerate([5, 3, 3, 7, 7, 7, 9], start=1)]
    items.append({"id": "gone", "revision": "8", "deleted": "true"})

    pages = list(revision_pages(items, since=2, page_size=3))

    assert [[r["id"] for r in p.records] for p in pages] == [["2", "3", "1"], ["4", "5", "6"], ["7"]]
    assert [p.cursor["revision"] for p in pages] == [5, 7, 9]
    assert pages[2].deleted_ids == ["gone"]
    split = list(revision_pages(items[3:6], since=2, page_size=2))  # one revision across two pages
    assert [p.cursor["revision"] for p in split] == [6, 7]
