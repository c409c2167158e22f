"""Nested config schemas in the admin: a nested serializer is a group of inputs, a list of them a list of
cards; what is posted comes back as the object, keys the inputs do not show survive, errors land on
the inputs at fault."""

from __future__ import annotations

from django.http import QueryDict
from rest_framework import serializers

from integrations.schema_form import (
    ObjectListWidget,
    ObjectWidget,
    StructuredField,
    error_lines,
    errors_to_fields,
    form_field,
)


class Pagination(serializers.Serializer):
    style = serializers.ChoiceField(choices=["none", "page", "cursor"], default="none")
    size = serializers.IntegerField(required=False, min_value=1)


class Item(serializers.Serializer):
    name = serializers.CharField()
    path = serializers.CharField()
    enabled = serializers.BooleanField(default=True)
    pagination = Pagination(required=False)


class Config(serializers.Serializer):
    auth = Pagination(required=False)
    items = Item(many=True)


def post(pairs: dict[str, str]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in pairs.items():
        data[key] = value
    return data


def test_nested_serializers_become_structured_fields():
    fields = Config().fields
    auth, items = form_field(fields["auth"]), form_field(fields["items"])
    assert isinstance(auth, StructuredField) and type(auth.widget) is ObjectWidget
    assert isinstance(items, StructuredField) and isinstance(items.widget, ObjectListWidget)
    assert [leaf.path for leaf in items.widget.leaves] == ["name", "path", "enabled", "pagination.style",
                                                           "pagination.size"]
    style = items.widget.leaves[3]
    assert style.kind == "choice" and style.group == "Pagination" and ("page", "page") in style.choices


def test_a_list_of_cards_reads_back_as_objects_and_keeps_unshown_keys():
    widget = form_field(Config().fields["items"]).widget
    stored = [{"name": "products", "path": "/products", "enabled": True, "pagination": {"style": "page", "size": 50},
               "method": "GET"}]
    html = widget.render("cfg__items", stored)
    assert 'name="cfg__items-0.name" value="products"' in html
    assert '<option value="page" selected>' in html
    assert 'name="cfg__items-__i__.path"' in html  # the template card the script clones
    data = post({"cfg__items.present": "1", "cfg__items-0.name": "products", "cfg__items-0.path": "/v2/products",
                 "cfg__items-0.enabled.present": "1", "cfg__items-0.enabled": "on",
                 "cfg__items-0.pagination.style": "cursor", "cfg__items-0.pagination.size": "25",
                 "cfg__items-0.__extra": '{"method": "GET"}',
                 # a card added in the page (index 3: cards 1 and 2 were removed), one left blank
                 "cfg__items-3.name": "orders", "cfg__items-3.path": "/orders", "cfg__items-3.pagination.size": "x",
                 "cfg__items-4.name": "", "cfg__items-4.path": "", "cfg__items-4.__extra": "{}"})
    assert widget.value_from_datadict(data, {}, "cfg__items") == [
        {"method": "GET", "name": "products", "path": "/v2/products", "enabled": True,
         "pagination": {"style": "cursor", "size": 25}},
        {"name": "orders", "path": "/orders", "pagination": {"size": "x"}},  # the serializer will say why
    ]
    # Every card removed: an empty list, not "nothing posted".
    assert widget.value_from_datadict(post({"cfg__items.present": "1"}), {}, "cfg__items") == []
    assert widget.value_omitted_from_data(post({}), {}, "cfg__items")


def test_errors_are_shown_on_the_inputs_and_as_readable_lines():
    serializer = Config(data={"items": [{"name": "a", "path": "/a"}, {"name": "b", "pagination": {"style": "x"}}]})
    assert not serializer.is_valid()
    detail = serializer.errors
    lines = errors_to_fields(detail, "cfg__")["cfg__items"]
    assert "#2 path: This field is required." in lines
    assert '#2 pagination.style: "x" is not a valid choice.' in lines
    widget = form_field(Config().fields["items"]).widget
    widget.errors = detail["items"]
    html = widget.render("cfg__items", [{"name": "a", "path": "/a"}, {"name": "b", "pagination": {"style": "x"}}])
    second = html.split('data-card="1"')[1]
    assert "This field is required." in second and "hub-invalid" in second
    assert "This field is required." not in html.split('data-card="1"')[0]
    assert error_lines(["at least one item"]) == ["at least one item"]


def test_an_input_shown_only_for_some_values_of_a_sibling_choice():
    class Auth(serializers.Serializer):
        type = serializers.ChoiceField(choices=["none", "basic"], default="none")
        username = serializers.CharField(required=False, style={"shown_for": {"type": ["basic"]}})

    class WithAuth(serializers.Serializer):
        auth = Auth(required=False)

    html = form_field(WithAuth().fields["auth"]).widget.render("cfg__auth", {"type": "basic", "username": "u"})
    assert 'data-shown-when="cfg__auth.type" data-shown-values="basic"' in html
