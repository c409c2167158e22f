"""The 1C sandbox speaks the standard OData interface, and the connector reads it over real HTTP."""

from __future__ import annotations

import pytest
import requests

from connectors.base import SyncContext
from connectors.errors import AuthError, ConfigError
from connectors.onec.client import basic_header
from sandboxes.onec.dataset import USER

from .conftest import SIZES

pytestmark = [pytest.mark.postgres]


def test_cyrillic_basic_auth_and_401_on_a_bad_password(onec_sandbox):
    ok = onec_sandbox.get("Catalog_Склады")
    assert ok.status_code == 200 and len(ok.json()["value"]) == SIZES["warehouses"]
    assert ok.json()["odata.metadata"].endswith("/odata/standard.odata/$metadata#Catalog_Склады")
    bad = onec_sandbox.get("Catalog_Склады", auth=(USER, "wrong"))
    assert bad.status_code == 401 and bad.headers["WWW-Authenticate"].startswith("Basic")
    assert onec_sandbox.get("Catalog_Склады", auth=("Administrator", onec_sandbox.password)).status_code == 401
    atom = requests.get(f"{onec_sandbox.odata}/Catalog_Склады", timeout=10,  # 1C's default format is Atom
                        headers={"Authorization": basic_header(USER, onec_sandbox.password)})
    assert atom.status_code == 200 and atom.headers["Content-Type"].startswith("application/atom+xml")


def test_top_skip_pages_ordered_by_ref_key_cover_everything_once(onec_sandbox):
    query = {"$filter": "IsFolder eq false", "$orderby": "Ref_Key", "$select": "Ref_Key,Description", "$top": 7}
    first = onec_sandbox.get("Catalog_Номенклатура", **query, **{"$inlinecount": "allpages"}).json()
    assert first["odata.count"] == str(SIZES["products"]) and set(first["value"][0]) == {"Ref_Key", "Description"}
    keys = []
    for skip in range(0, SIZES["products"] + 7, 7):
        keys += [r["Ref_Key"] for r in onec_sandbox.get("Catalog_Номенклатура", **query, **{"$skip": skip})
                 .json()["value"]]
    assert keys == sorted(keys) and len(set(keys)) == SIZES["products"]


def test_filters_single_objects_virtual_tables_and_errors_in_1c_shape(onec_sandbox):
    product = onec_sandbox.get("Catalog_Номенклатура", **{"$filter": "IsFolder eq false", "$top": 1}).json()["value"][0]
    one = onec_sandbox.get(f"Catalog_Номенклатура(guid'{product['Ref_Key']}')").json()
    assert one["Description"] == product["Description"] and one["odata.metadata"].endswith("/@Element")
    by_key = onec_sandbox.get("Catalog_Номенклатура", **{
        "$filter": f"Ref_Key eq guid'{product['Ref_Key']}' or Code eq 'нет такого'"}).json()["value"]
    assert [r["Ref_Key"] for r in by_key] == [product["Ref_Key"]]

    slice_ = onec_sandbox.get("InformationRegister_ЦеныНоменклатуры/SliceLast()").json()["value"]
    records = onec_sandbox.get("InformationRegister_ЦеныНоменклатуры").json()["value"]
    assert len(records) == 2 * len(slice_) == 2 * SIZES["products"] * SIZES["price_types"]
    older = min(r["Period"] for r in records)
    assert {r["Period"] for r in slice_} != {older}  # the last slice, not the first
    past = onec_sandbox.get(f"InformationRegister_ЦеныНоменклатуры/SliceLast(Period=datetime'{older}')").json()
    assert {r["Period"] for r in past["value"]} == {older}
    balance = onec_sandbox.get("AccumulationRegister_ТоварыНаСкладах/Balance()").json()["value"]
    assert balance and all(r["ВНаличииBalance"] > 0 for r in balance)

    onec_sandbox.control("unpublish", entity="Catalog_Склады")
    missing = onec_sandbox.get("Catalog_Склады")
    assert missing.status_code == 404 and missing.json()["odata.error"]["message"]["lang"] == "ru"
    bad = onec_sandbox.get("Catalog_Номенклатура", **{"$filter": "Нет eq 1"})
    assert bad.status_code == 400 and "Нет" in bad.json()["odata.error"]["message"]["value"]


def test_connection_test_names_unpublished_entity_sets(onec, onec_sandbox):
    assert "all 10 this integration reads" in onec().test_connection()
    onec_sandbox.control("unpublish", entity="Document_ЗаказКлиента")
    with pytest.raises(ConfigError, match="Document_ЗаказКлиента"):
        onec().test_connection()
    with pytest.raises(AuthError, match="401"):
        onec(credentials={"username": USER, "password": "wrong"}).test_connection()


def test_english_mapping_of_the_source_document_is_asked_for_by_name(onec, onec_sandbox):
    connector = onec(config={"mapping": {"products": "Catalog_Nomenclature", "orders": "Document_SalesOrder"}})
    ctx = SyncContext(integration=connector.integration, connector=connector, http=connector.http)
    with pytest.raises(ConfigError, match=r"products \(Catalog_Nomenclature\) is not published .*404"):
        list(connector.streams["products"].read(ctx, None, True))
