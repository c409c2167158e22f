"""The field-mapping layer (connectors.mapping): every transform, every validation error, apply."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from connectors.errors import ConfigError, MappingError
from connectors.mapping import (
    MappedStream,
    MappingConfigError,
    apply_mapping,
    get_path,
    mapped_stream,
    required_targets,
    stream_mapping,
    targets_for,
    validate_mapping,
)
from records.rows import RecordRow


def one(entry: dict, raw: dict, model: str = "records.Product") -> RecordRow:
    entries = validate_mapping(model, [entry])
    return apply_mapping(raw, entries, RecordRow(external_id="1", fields={}, payload=raw))


def value(op: dict | list, raw_value, target: str = "attributes"):
    transforms = op if isinstance(op, list) else [op]
    return one({"target": target, "source": "v", "transforms": transforms}, {"v": raw_value}).fields[target]


def errors_of(entries, model: str = "records.Product") -> list[dict]:
    with pytest.raises(MappingConfigError) as info:
        validate_mapping(model, entries)
    return info.value.errors


# --- targets ---------------------------------------------------------------------------------------
def test_targets_name_fields_and_refs_with_type_words():
    targets = targets_for("records.Product")
    assert targets["name"] == "text"
    assert targets["price"] == "decimal"
    assert targets["is_active"] == "boolean"
    assert targets["attributes"] == "json"
    assert targets["category"] == "ref"
    assert "external_id" not in targets and "organization" not in targets and "payload" not in targets
    assert targets_for("records.Order")["ordered_at"] == "datetime"
    assert targets_for("records.OrderLine")["line_no"] == "integer"
    assert "name" in required_targets("records.Product")


def test_get_path_reads_dicts_and_list_indexes():
    data = {"a": {"items": [{"id": 7}, {"id": 8}]}}
    assert get_path(data, "a.items.1.id") == 8
    assert get_path(data, "a.items.-1.id") == 8
    assert get_path(data, "a.items.5.id") is None
    assert get_path(data, "a.missing", "x") == "x"
    assert get_path(data, "") is data


# --- transforms ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [("42", 42), ("4.5", 4.5), (" 1 000 ", 1000), (7, 7), (None, None)])
def test_number(raw, expected):
    assert value({"op": "number"}, raw) == expected


def test_number_refuses_text():
    expected = r"field mapping #0 \(target 'attributes', source 'v'\): 'abc' is not a number"
    with pytest.raises(MappingError, match=expected):
        value({"op": "number"}, "abc")


def test_decimal_with_places_rounds_half_up():
    assert value({"op": "decimal"}, "12.345") == Decimal("12.345")
    assert value({"op": "decimal", "places": 2}, "12.345") == Decimal("12.35")
    assert value({"op": "decimal"}, 0.1) == Decimal("0.1")
    with pytest.raises(MappingError, match="is not a decimal number"):
        value({"op": "decimal"}, "twelve")
    with pytest.raises(MappingError, match="not a finite number"):
        value({"op": "decimal"}, "NaN")


def test_date_iso_and_format():
    assert value({"op": "date"}, "2026-03-04") == dt.date(2026, 3, 4)
    assert value({"op": "date"}, "2026-03-04T10:00:00Z") == dt.date(2026, 3, 4)
    assert value({"op": "date", "format": "%d.%m.%Y"}, "04.03.2026") == dt.date(2026, 3, 4)
    with pytest.raises(MappingError, match=r"'2026/03/04' is not a date in the format '%d.%m.%Y'"):
        value({"op": "date", "format": "%d.%m.%Y"}, "2026/03/04")


def test_datetime_iso_format_epoch_and_naive_as_utc():
    assert value({"op": "datetime"}, "2026-03-04T10:00:00+07:00") == dt.datetime(
        2026, 3, 4, 3, 0, tzinfo=dt.UTC)
    assert value({"op": "datetime", "format": "%d.%m.%Y %H:%M"}, "04.03.2026 10:30") == dt.datetime(
        2026, 3, 4, 10, 30, tzinfo=dt.UTC)
    assert value({"op": "datetime"}, 0) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(MappingError, match="is not a date-time"):
        value({"op": "datetime"}, "yesterday")


def test_default_fills_missing_and_empty_only():
    assert value({"op": "default", "value": "n/a"}, None) == "n/a"
    assert value({"op": "default", "value": "n/a"}, "") == "n/a"
    assert value({"op": "default", "value": "n/a"}, "x") == "x"
    row = one({"target": "currency", "transforms": [{"op": "default", "value": "USD"}]}, {})
    assert row.fields["currency"] == "USD"


def test_lookup_with_and_without_default():
    table = {"A": "active", "1": "one", "true": "yes"}
    assert value({"op": "lookup", "table": table}, "A") == "active"
    assert value({"op": "lookup", "table": table}, 1) == "one"
    assert value({"op": "lookup", "table": table}, True) == "yes"
    assert value([{"op": "decimal"}, {"op": "lookup", "table": table}], "1") == "one"
    assert value({"op": "lookup", "table": {"null": "none"}}, None) == "none"
    assert value({"op": "lookup", "table": table, "default": "other"}, "Z") == "other"
    with pytest.raises(MappingError, match="'Z' is not in the lookup table"):
        value({"op": "lookup", "table": table}, "Z")


def test_join_several_sources_skips_missing():
    row = one({"target": "name", "source": ["first", "middle", "last"], "transforms": [{"op": "join", "sep": " "}]},
              {"first": "Ada", "last": "Lovelace"})
    assert row.fields["name"] == "Ada Lovelace"
    assert value({"op": "join", "sep": ","}, ["a", "b"]) == "a,b"


def test_minor_and_major_units():
    assert value({"op": "minor_to_major"}, 12345) == Decimal("123.45")
    assert value({"op": "minor_to_major", "exponent": 0}, 500) == Decimal("500")
    assert value({"op": "major_to_minor"}, "123.455") == 12346
    assert value({"op": "major_to_minor", "exponent": 3}, "1.5") == 1500
    with pytest.raises(MappingError, match="is not a decimal number"):
        value({"op": "minor_to_major"}, "lots")


def test_text_transforms():
    assert value([{"op": "string"}, {"op": "upper"}], 12) == "12"
    assert value({"op": "lower"}, "ABC") == "abc"
    assert value({"op": "strip"}, "  x ") == "x"
    assert value({"op": "string"}, True) == "true"
    assert value({"op": "string"}, {"b": 1}) == '{"b": 1}'


def test_transforms_chain_in_order():
    assert value([{"op": "default", "value": "0"}, {"op": "minor_to_major"}, {"op": "decimal", "places": 1}],
                 None) == Decimal("0.0")


# --- references and rows ------------------------------------------------------------------------
def test_ref_by_external_id_and_row_copy():
    base = RecordRow(external_id="p1", fields={"name": "Old", "sku": "S"}, refs={}, payload={})
    entries = validate_mapping("records.Product", [
        {"target": "category", "source": "cat.id"},  # a reference field is a ref without saying so
        {"target": "name", "source": "title"},
    ])
    assert entries[0]["ref"] is True
    row = apply_mapping({"cat": {"id": 17}, "title": "New"}, entries, base)
    assert row.refs == {"category": "17"} and row.fields == {"name": "New", "sku": "S"}
    assert base.fields["name"] == "Old" and base.refs == {}  # the input row is untouched
    assert apply_mapping({}, entries, base).refs == {"category": None}


def test_ref_refuses_an_object():
    with pytest.raises(MappingError, match="cannot be an external id"):
        one({"target": "category", "source": "cat", "ref": True}, {"cat": {"id": 1}})


# --- validation errors ------------------------------------------------------------------------------
def test_validation_normalises_defaults():
    [entry] = validate_mapping("records.Product", [
        {"target": "price", "source": "p", "transforms": [{"op": "minor_to_major"}]}])
    assert entry == {"target": "price", "source": "p", "ref": False,
                     "transforms": [{"op": "minor_to_major", "exponent": 2}]}


@pytest.mark.parametrize(("entries", "expected"), [
    ("nope", {"index": None, "field": "fields", "message": "must be a list of field mappings"}),
    ([1], {"index": 0, "field": "", "message": "must be an object with a target and a source"}),
    ([{"target": "colour", "source": "c"}], {"index": 0, "field": "target"}),
    ([{"target": "name"}], {"index": 0, "field": "source"}),
    ([{"target": "name", "source": "a..b"}], {"index": 0, "field": "source"}),
    ([{"target": "name", "source": ["a", "b"]}],
     {"index": 0, "field": "source", "message": "a list of sources needs a join transform to make one value"}),
    ([{"target": "name", "source": ["a", ""], "transforms": [{"op": "join"}]}], {"index": 0, "field": "source[1]"}),
    ([{"target": "name", "source": "a", "transforms": {"op": "strip"}}], {"index": 0, "field": "transforms"}),
    ([{"target": "name", "source": "a", "transforms": ["strip"]}], {"index": 0, "field": "transforms[0]"}),
    ([{"target": "name", "source": "a", "transforms": [{"op": "rot13"}]}], {"index": 0, "field": "transforms[0].op"}),
    ([{"target": "name", "source": "a", "transforms": [{"op": "strip", "x": 1}]}],
     {"index": 0, "field": "transforms[0].x"}),
    ([{"target": "name", "source": "a", "transforms": [{"op": "default"}]}],
     {"index": 0, "field": "transforms[0].value", "message": "default needs 'value'"}),
    ([{"target": "name", "source": "a", "transforms": [{"op": "lookup", "table": {}}]}],
     {"index": 0, "field": "transforms[0].table"}),
    ([{"target": "price", "source": "a", "transforms": [{"op": "decimal", "places": 99}]}],
     {"index": 0, "field": "transforms[0].places", "message": "must be a whole number from 0 to 10"}),
    ([{"target": "price", "source": "a", "transforms": [{"op": "minor_to_major", "exponent": "2"}]}],
     {"index": 0, "field": "transforms[0].exponent"}),
    ([{"target": "name", "source": "a", "ref": True}], {"index": 0, "field": "ref"}),
    ([{"target": "name", "source": "a", "ref": "yes"}], {"index": 0, "field": "ref"}),
    ([{"target": "name", "source": "a", "colour": 1}], {"index": 0, "field": "colour"}),
    ([{"target": "name", "source": "a"}, {"target": "name", "source": "b"}],
     {"index": 1, "field": "target", "message": "'name' is already mapped by entry 0"}),
])
def test_validation_errors(entries, expected):
    errors = errors_of(entries)
    assert any(all(e.get(k) == v for k, v in expected.items()) for e in errors), errors
    for error in errors:
        assert set(error) == {"index", "field", "message"} and error["message"]


def test_every_problem_is_listed_at_once():
    errors = errors_of([{"target": "colour", "source": "c"}, {"target": "name"},
                        {"target": "price", "source": "p", "transforms": [{"op": "nope"}]}])
    assert [e["index"] for e in errors] == [0, 1, 2]


def test_unknown_model():
    assert errors_of([], model="records.Nothing") == [
        {"index": None, "field": "model", "message": "'records.Nothing' is not a record model"}]


# --- the runner's hook -----------------------------------------------------------------------------
class _Stream:
    name = "products"
    model = "records.Product"
    depends_on = ("categories",)

    def map(self, raw):
        return RecordRow(external_id=str(raw["id"]), fields={"name": raw["name"], "price": raw["price"]}, payload=raw)


def test_mapped_stream_overrides_after_the_stream_map_and_keeps_the_rest():
    stream = _Stream()
    assert mapped_stream(stream, {}) is stream
    assert mapped_stream(stream, {"field_mappings": {"other": [{"target": "name", "source": "x"}]}}) is stream
    config = {"field_mappings": {"products": [
        {"target": "price", "source": "price", "transforms": [{"op": "minor_to_major"}]},
        {"target": "barcode", "source": "ean"},
    ]}}
    wrapped = mapped_stream(stream, config)
    assert isinstance(wrapped, MappedStream) and wrapped.depends_on == ("categories",) and wrapped.name == "products"
    row = wrapped.map({"id": 1, "name": "Tea", "price": 250, "ean": "400"})
    assert row.fields == {"name": "Tea", "price": Decimal("2.50"), "barcode": "400"}
    assert row.variant  # a mapping's fingerprint is part of the row's hash


def test_a_stored_mapping_that_no_longer_validates_is_a_config_error():
    with pytest.raises(ConfigError, match="the field mapping of stream 'products' is invalid: entry 0: target"):
        stream_mapping({"field_mappings": {"products": [{"target": "colour", "source": "c"}]}}, "products",
                       "records.Product")


def test_a_json_fields_key_is_merged_into_what_the_stream_gives():
    entries = validate_mapping("records.Product", [
        {"target": "attributes.origin", "source": "made_in", "transforms": [{"op": "upper"}]}])
    base = RecordRow(external_id="1", fields={"attributes": {"brand": "Acme"}}, payload={})
    row = apply_mapping({"made_in": "vn"}, entries, base)
    assert row.fields["attributes"] == {"brand": "Acme", "origin": "VN"}
    assert base.fields["attributes"] == {"brand": "Acme"}


@pytest.mark.parametrize(("entries", "message"), [
    ([{"target": "attributes", "source": "a"}, {"target": "attributes.x", "source": "b"}],
     "'attributes.x' is already mapped by entry 0"),
    ([{"target": "attributes.x", "source": "b"}, {"target": "attributes", "source": "a"}],
     "'attributes' is already mapped by its keys (entry 0)"),
    ([{"target": "name.first", "source": "a"}], "'name.first' is not a field of records.Product"),
    ([{"target": "attributes.x", "source": "a", "ref": True}], "a JSON field's key is not a reference"),
])
def test_json_key_targets_are_validated(entries, message):
    assert any(message in e["message"] for e in errors_of(entries))
