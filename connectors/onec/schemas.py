"""What a user enters to connect a 1C infobase: the user and password (secret), entity names and options.

Configurations name their objects differently (УТ 11, КА, ERP, Розница; English configurations), so
each stream's entity set and the properties we read are settings, with the typical УТ 11 names as
defaults. The source document's form ``{"mapping": {"products": "Catalog_Nomenclature", "orders":
"Document_SalesOrder"}}`` is exactly this ``mapping``.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rest_framework import serializers

# Stream -> entity set of the standard OData interface (typical "Управление торговлей 11" names).
DEFAULT_ENTITIES: dict[str, str] = {
    "categories": "Catalog_Номенклатура",
    "products": "Catalog_Номенклатура",
    "units": "Catalog_УпаковкиЕдиницыИзмерения",
    "suppliers": "Catalog_Контрагенты",
    "customers": "Catalog_Контрагенты",
    "warehouses": "Catalog_Склады",
    "price_types": "Catalog_ВидыЦен",
    "prices": "InformationRegister_ЦеныНоменклатуры",
    "stock": "AccumulationRegister_ТоварыНаСкладах",
    "orders": "Document_ЗаказКлиента",
    "sales": "Document_РеализацияТоваровУслуг",
    "purchases": "Document_ПриобретениеТоваровУслуг",
}
# Our name -> the configuration's property (standard properties such as Ref_Key, Code, Description,
# DeletionMark, IsFolder, Parent_Key, Number, Date, Posted are the platform's and never change).
DEFAULT_FIELDS: dict[str, str] = {
    "article": "Артикул",
    "full_name": "НаименованиеПолное",
    "unit": "ЕдиницаИзмерения_Key",
    "tax_id": "ИНН",
    "warehouse_type": "ТипСклада",
    "contacts": "КонтактнаяИнформация",
    "supplier_flag": "Поставщик",
    "customer_flag": "Покупатель",
    "counterparty": "Контрагент_Key",
    "warehouse": "Склад_Key",
    "order": "ЗаказКлиента_Key",
    "document_total": "СуммаДокумента",
    "status": "Статус",
    "comment": "Комментарий",
    "lines": "Товары",
    "product": "Номенклатура_Key",
    "characteristic": "Характеристика_Key",
    "quantity": "Количество",
    "price": "Цена",
    "amount": "Сумма",
    "discount": "СуммаРучнойСкидки",
    "price_type": "ВидЦены_Key",
    "stock_quantity": "ВНаличии",
    "stock_reserved": "КОтгрузке",
}
# An entity set name as the platform builds it: <Kind>_<metadata name>, a letter-led identifier.
ENTITY_NAME = re.compile(r"^(Catalog|Document|InformationRegister|AccumulationRegister|ChartOfCharacteristicTypes)"
                         r"_[^\W\d]\w*$")
FIELD_NAME = re.compile(r"^[^\W\d]\w*$")


class OneCCredentials(serializers.Serializer):
    username = serializers.CharField(max_length=100, trim_whitespace=False,
                                     help_text="The infobase user (Cyrillic names work, e.g. «Администратор»); "
                                               "it needs the right to read the published objects.")
    password = serializers.CharField(max_length=200, write_only=True, allow_blank=True, trim_whitespace=False,
                                     style={"input_type": "password"},
                                     help_text="The user's password (empty if the user has none).")


class OneCConfig(serializers.Serializer):
    mapping = serializers.DictField(
        child=serializers.CharField(max_length=150, allow_blank=True), required=False, default=dict,
        help_text="Entity set per stream where the configuration differs from УТ 11, e.g. "
                  '{"products": "Catalog_Nomenclature", "orders": "Document_SalesOrder"}. "" turns off an '
                  "optional lookup (units, price_types).",
    )
    properties = serializers.DictField(
        child=serializers.CharField(max_length=150, allow_blank=True), required=False, default=dict,
        help_text='Property names where the configuration differs, e.g. {"article": "SKU"}. "" skips an '
                  "optional property (supplier_flag/customer_flag: every counterparty is both).",
    )
    page_size = serializers.IntegerField(min_value=10, max_value=5000, default=500,
                                         help_text="Objects per request ($top) and per committed page.")
    key_batch = serializers.IntegerField(min_value=1, max_value=50, default=20,
                                         help_text="Changed objects fetched per request by Ref_Key (URL length).")
    document_sync = serializers.ChoiceField(choices=["date", "data_version"], default="date",
                                            help_text="Incremental documents: by Date (with an overlap) or by "
                                                      "comparing every document's DataVersion.")
    document_history_days = serializers.IntegerField(min_value=0, max_value=3660, default=0,
                                                     help_text="How far back a first or full document sync reads "
                                                               "(0: every document).")
    document_overlap_days = serializers.IntegerField(min_value=0, max_value=365, default=3,
                                                     help_text="Days re-read before the last document date "
                                                               "(documents entered late or re-dated).")
    posted_only = serializers.BooleanField(default=False, help_text="Sync only posted documents (Posted eq true).")
    main_price_type = serializers.CharField(max_length=150, allow_blank=True, default="",
                                            help_text="The price type (name or Ref_Key) whose price becomes the "
                                                      "product's price; every type lands in its prices.")
    timezone = serializers.CharField(max_length=64, default="UTC",
                                     help_text="The infobase's time zone (1C dates carry none), e.g. Europe/Moscow.")
    currency = serializers.CharField(max_length=3, default="RUB",
                                     help_text="The infobase's accounting currency (documents name theirs by a "
                                               "reference only).")

    def validate_timezone(self, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise serializers.ValidationError("Not a known time zone, e.g. Europe/Moscow.") from None
        return value

    def validate_mapping(self, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DEFAULT_ENTITIES))
        if unknown:
            raise serializers.ValidationError(f"Unknown stream(s): {', '.join(unknown)}; "
                                              f"known: {', '.join(DEFAULT_ENTITIES)}.")
        bad = [f"{k}={v!r}" for k, v in value.items() if v and not ENTITY_NAME.match(v)]
        if bad:
            raise serializers.ValidationError(f"Not an entity set name (Catalog_X, Document_X, "
                                              f"InformationRegister_X, AccumulationRegister_X): {', '.join(bad)}.")
        required = [k for k, v in value.items() if not v and k not in ("units", "price_types")]
        if required:
            raise serializers.ValidationError(f"An entity set is required for: {', '.join(required)}.")
        return value

    def validate_properties(self, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DEFAULT_FIELDS))
        if unknown:
            raise serializers.ValidationError(f"Unknown field(s): {', '.join(unknown)}; "
                                              f"known: {', '.join(DEFAULT_FIELDS)}.")
        bad = [f"{k}={v!r}" for k, v in value.items() if v and not FIELD_NAME.match(v)]
        if bad:
            raise serializers.ValidationError(f"Not a property name: {', '.join(bad)}.")
        return value


def entities(config: dict[str, Any]) -> dict[str, str]:
    """Every stream's entity set: the defaults, overridden per stream. Categories follow products and
    customers follow suppliers unless set themselves (one catalog holds both in every configuration)."""
    given = {k: v for k, v in (config.get("mapping") or {}).items() if isinstance(v, str)}
    out = {**DEFAULT_ENTITIES, **given}
    if "products" in given and "categories" not in given:
        out["categories"] = given["products"]
    if "suppliers" in given and "customers" not in given:
        out["customers"] = given["suppliers"]
    return out


def properties(config: dict[str, Any]) -> dict[str, str]:
    return {**DEFAULT_FIELDS, **{k: v for k, v in (config.get("properties") or {}).items() if isinstance(v, str)}}
