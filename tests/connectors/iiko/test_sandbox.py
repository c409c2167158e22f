"""The iiko sandbox over real HTTP (live_server): SHA-1 login, licence seats, XML lists, revisions, faults."""

from __future__ import annotations

import hashlib
import time

import pytest
import requests

from connectors.iiko.xmlparse import parse_list
from sandboxes.iiko.dataset import LICENCE_MODULE

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def sha1(value: str) -> str:
    return hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()


def login(box, password: str | None = None, method: str = "post") -> requests.Response:
    fields = {"login": box.login, "pass": sha1(box.password if password is None else password)}
    if method == "get":
        return requests.get(f"{box.base}/resto/api/auth", params=fields, timeout=10)
    return requests.post(f"{box.base}/resto/api/auth", data=fields, timeout=10)


def get(box, path: str, token: str, **params) -> requests.Response:
    return requests.get(f"{box.base}/resto/api/{path}", params={"key": token, **params}, timeout=30)


def logout(box, token: str) -> requests.Response:
    return requests.get(f"{box.base}/resto/api/logout", params={"key": token}, timeout=10)


def test_login_takes_the_sha1_of_the_password_only(iiko_sandbox):
    ok = login(iiko_sandbox, method="get")
    assert ok.status_code == 200 and ok.headers["Content-Type"].startswith("text/plain") and len(ok.text) == 36

    assert login(iiko_sandbox, password="wrong").status_code == 401
    assert login(iiko_sandbox, password="resto#" + iiko_sandbox.password).status_code == 401  # no prefix
    plain = requests.post(f"{iiko_sandbox.base}/resto/api/auth", timeout=10,
                          data={"login": iiko_sandbox.login, "pass": iiko_sandbox.password})
    assert plain.status_code == 401
    assert requests.post(f"{iiko_sandbox.base}/resto/api/auth", timeout=10).status_code == 400
    logout(iiko_sandbox, ok.text)


def test_each_token_holds_a_seat_until_logout(iiko_sandbox):
    first, second = login(iiko_sandbox).text, login(iiko_sandbox).text

    refused = login(iiko_sandbox)
    assert refused.status_code == 403
    assert refused.text == f"License enhancement is required: no connections available for module {LICENCE_MODULE}"
    assert iiko_sandbox.stats()["open_seats"] == 2

    assert logout(iiko_sandbox, first).status_code == 200
    assert get(iiko_sandbox, "suppliers", first).status_code == 401
    third = login(iiko_sandbox)
    assert third.status_code == 200
    assert logout(iiko_sandbox, first).status_code == 401  # twice: already gone
    for token in (second, third.text):
        logout(iiko_sandbox, token)
    assert iiko_sandbox.stats()["open_seats"] == 0


def test_a_leaked_token_keeps_its_seat_until_idle_timeout(iiko_sandbox):
    iiko_sandbox.control("set_seats", seats=1)
    iiko_sandbox.control("set_token_ttl", seconds=3)
    started = time.monotonic()
    leaked = login(iiko_sandbox).text
    assert login(iiko_sandbox).status_code == 403

    time.sleep(max(0.0, 3.2 - (time.monotonic() - started)))

    assert get(iiko_sandbox, "suppliers", leaked).status_code == 401
    assert login(iiko_sandbox).status_code == 200


def test_lists_answer_xml_with_iikos_element_names(iiko_sandbox):
    token = login(iiko_sandbox).text
    try:
        assert get(iiko_sandbox, "corporation/departments", "").status_code == 401
        departments = get(iiko_sandbox, "corporation/departments", token)
        stores = get(iiko_sandbox, "corporation/stores", token)
        suppliers = get(iiko_sandbox, "suppliers", token)
    finally:
        logout(iiko_sandbox, token)

    assert departments.headers["Content-Type"].startswith("application/xml")
    items = parse_list(departments, "corporateItemDtoes", "corporateItemDto")
    assert [i["type"] for i in items] == ["CORPORATION", "JURPERSON", "DEPARTMENT", "DEPARTMENT", "DEPARTMENT"]
    restaurant_ids = {i["id"] for i in items if i["type"] == "DEPARTMENT"}
    store_items = parse_list(stores, "corporateItemDtoes", "corporateItemDto")
    assert len(store_items) == 5 and {s["parentId"] for s in store_items} == restaurant_ids
    people = parse_list(suppliers, "employees", "employee")
    assert len(people) == 7 and all(p["supplier"] == "true" for p in people)
    assert "«" in people[0]["name"]  # Cyrillic, unescaped UTF-8


def test_revisions_list_only_later_changes(iiko_sandbox):
    iiko_sandbox.control("update", entity="suppliers", ids=[2], fields={"name": "ООО «Новое имя»"})
    deleted = iiko_sandbox.control("delete", entity="suppliers", count=1)
    token = login(iiko_sandbox).text
    try:
        changed = parse_list(get(iiko_sandbox, "suppliers", token, revisionFrom=1), "employees", "employee")
        none = parse_list(get(iiko_sandbox, "suppliers", token, revisionFrom=deleted["revision"]), "employees",
                          "employee")
        products = requests.post(f"{iiko_sandbox.base}/resto/api/v2/entities/products/list", timeout=10,
                                 params={"key": token}, data={"revisionFrom": -1, "includeDeleted": "false"})
        found = get(iiko_sandbox, "suppliers/search", token, name="новое")
    finally:
        logout(iiko_sandbox, token)

    assert [(c["name"], c["deleted"]) for c in changed] == [("ООО «Новое имя»", "false"), (changed[1]["name"], "true")]
    assert none == []
    assert len(products.json()) == 25 and products.json()[0]["mainUnit"]
    assert [s["name"] for s in parse_list(found, "employees", "employee")] == ["ООО «Новое имя»"]


def test_invoices_by_inclusive_date_range(iiko_sandbox):
    start = iiko_sandbox.stats()["invoice_start"]
    token = login(iiko_sandbox).text
    try:
        all_docs = parse_list(get(iiko_sandbox, "documents/export/incomingInvoice", token, **{"from": start,
                              "to": "2999-01-01"}), "incomingInvoiceDtoes", "document", force_list=("item",))
        first_day = parse_list(get(iiko_sandbox, "documents/export/incomingInvoice", token, **{"from": start,
                               "to": start}), "incomingInvoiceDtoes", "document", force_list=("item",))
        bad = get(iiko_sandbox, "documents/export/incomingInvoice", token, **{"from": "05.03.2024", "to": start})
    finally:
        logout(iiko_sandbox, token)

    assert len(all_docs) == 12 and all(len(d["items"]["item"]) == 3 for d in all_docs)
    assert first_day and all(d["dateIncoming"].startswith(start) for d in first_day)
    assert bad.status_code == 400 and bad.text.startswith("Wrong date format")


@pytest.mark.parametrize("kind, status, start", [
    ("html", 200, b"<!DOCTYPE html>"), ("wrong_root", 200, b"<?xml"), ("malformed", 200, b"<?xml"),
    ("status", 500, b"Internal"), ("expire_token", 401, b"Token"),
])
def test_injected_faults(iiko_sandbox, kind, status, start):
    token = login(iiko_sandbox).text
    iiko_sandbox.control("fault", kind=kind)
    try:
        faulty = get(iiko_sandbox, "suppliers", token)
        after = get(iiko_sandbox, "suppliers", token)
    finally:
        logout(iiko_sandbox, token)

    assert faulty.status_code == status and faulty.content.startswith(start)
    assert after.status_code == (401 if kind == "expire_token" else 200)


def test_control_needs_the_password(iiko_sandbox):
    resp = requests.post(f"{iiko_sandbox.base}/_control", json={"login": iiko_sandbox.login, "password": "x",
                                                                 "action": "stats"}, timeout=10)
    assert resp.status_code == 401


def test_data_is_deterministic_per_login_and_any_size_costs_nothing_to_keep(iiko_sandbox, live_server):
    from tests.connectors.iiko.conftest import IikoSandbox

    def suppliers(box):
        token = login(box).text
        try:
            return parse_list(get(box, "suppliers", token), "employees", "employee")
        finally:
            logout(box, token)

    first = suppliers(iiko_sandbox)
    iiko_sandbox.control("reset")  # the state is dropped: the data are regenerated from the login
    iiko_sandbox.control("set_sizes", sizes={"suppliers": 7})
    other = IikoSandbox(iiko_sandbox.base, iiko_sandbox.login + "-other")
    other.control("set_sizes", sizes={"suppliers": 7})

    assert suppliers(iiko_sandbox) == first
    assert [s["name"] for s in suppliers(other)] != [s["name"] for s in first]
    big = other.control("set_sizes", sizes={"restaurants": 30, "suppliers": 600, "products": 20_000,
                                             "invoices": 10_000, "lines": 5})
    assert big["sizes"]["products"] == 20_000 and len(str(other.stats())) < 600
