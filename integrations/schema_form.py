"""Admin form fields generated from a connector's credential and config schemas (DRF serializers).

Staff connect a provider by filling typed fields (numbers, switches, choices, URLs) with the
provider's own help texts, never by typing JSON. Every credential field is a password input that
never renders its stored value: left blank, the stored value is kept. A nested serializer is a
group of such inputs, a list of nested serializers a list of them with "add" and "remove" (e.g. the
REST connector's auth and streams), each input named by its dotted path in the object.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from django import forms
from rest_framework import fields as drf
from rest_framework import serializers
from unfold import widgets as uw

CRED_PREFIX, CFG_PREFIX = "cred__", "cfg__"
KEEP_HINT = "Stored — leave blank to keep it."


def _initial(field: drf.Field) -> Any:
    default = field.default
    if default is drf.empty:
        return None
    return default() if callable(default) else default


def _label(field: drf.Field) -> str:
    return str(field.label or field.field_name.replace("_", " ").capitalize())


def _nested(field: drf.Field) -> tuple[str, serializers.Serializer] | None:
    """("object", serializer) for a nested serializer, ("list", child) for a list of them, else None.

    A JSON field the serializer validates itself names its shape in DRF's rendering hints:
    ``style={"form": AuthSerializer}`` or ``style={"form": StreamSerializer, "many": True}``.
    """
    style = getattr(field, "style", None) or {}
    shape = style.get("form")
    if isinstance(shape, type) and issubclass(shape, serializers.Serializer):
        return ("list" if style.get("many") else "object"), shape()
    if isinstance(field, serializers.ListSerializer) and isinstance(field.child, serializers.Serializer):
        return "list", field.child
    if isinstance(field, drf.ListField) and isinstance(field.child, serializers.Serializer):
        return "list", field.child
    if isinstance(field, serializers.Serializer):
        return "object", field
    return None


def form_field(field: drf.Field, *, secret: bool = False) -> forms.Field:
    """The Django form field for one serializer field; unknown kinds fall back to a JSON box."""
    common: dict[str, Any] = {"required": False, "help_text": field.help_text or "", "label": _label(field)}
    nested = _nested(field)
    if nested is not None and not secret:
        kind, serializer = nested
        widget = ObjectListWidget(leaves(serializer)) if kind == "list" else ObjectWidget(leaves(serializer))
        return StructuredField(widget=widget, **{**common, "help_text": ""})  # each input has its own
    if secret:
        # Never rendered back (render_value=False); the toggle shows only what is being typed.
        return forms.CharField(strip=False, widget=uw.UnfoldAdminPasswordToggleWidget(attrs={
            "autocomplete": "new-password"}), max_length=getattr(field, "max_length", None), **common)
    if isinstance(field, drf.BooleanField):
        return forms.BooleanField(widget=uw.UnfoldBooleanSwitchWidget, **common)
    if isinstance(field, drf.ListField) and isinstance(field.child, drf.ChoiceField):
        return forms.MultipleChoiceField(choices=list(field.child.choices.items()),
                                         widget=uw.UnfoldAdminCheckboxSelectMultipleWidget, **common)
    if isinstance(field, drf.ChoiceField):
        choices = list(field.choices.items())
        if not field.required:
            choices = [("", "—"), *choices]
        return forms.ChoiceField(choices=choices, widget=uw.UnfoldAdminSelectWidget, **common)
    if isinstance(field, drf.IntegerField):
        return forms.IntegerField(min_value=field.min_value, max_value=field.max_value,
                                  widget=uw.UnfoldAdminIntegerFieldWidget, **common)
    if isinstance(field, drf.FloatField | drf.DecimalField):
        return forms.DecimalField(widget=uw.UnfoldAdminDecimalFieldWidget, **common)
    if isinstance(field, drf.URLField):
        return forms.URLField(assume_scheme="https", max_length=getattr(field, "max_length", None),
                              widget=uw.UnfoldAdminTextInputWidget(attrs={"type": "url"}), **common)
    if isinstance(field, drf.EmailField):
        return forms.EmailField(widget=uw.UnfoldAdminEmailInputWidget, **common)
    if isinstance(field, drf.CharField):
        long = (getattr(field, "max_length", None) or 0) > 1000
        widget = uw.UnfoldAdminTextareaWidget(attrs={"rows": 3}) if long else uw.UnfoldAdminTextInputWidget
        return forms.CharField(max_length=getattr(field, "max_length", None), strip=False, widget=widget, **common)
    return forms.JSONField(widget=uw.UnfoldAdminTextareaWidget, **common)


def schema_fields(serializer_class: type[serializers.Serializer] | None) -> dict[str, drf.Field]:
    if serializer_class is None:
        return {}
    return {name: f for name, f in serializer_class().fields.items() if not f.read_only}


def build_fields(connector, credentials: dict[str, Any], config: dict[str, Any]) -> dict[str, forms.Field]:
    """Form fields for a connector: ``cred__<name>`` (password inputs) then ``cfg__<name>``."""
    out: dict[str, forms.Field] = {}
    for name, field in schema_fields(connector.credentials_serializer).items():
        ff = form_field(field, secret=True)
        if field.required and not credentials.get(name):
            ff.required = True
        if credentials.get(name):
            ff.help_text = f"{KEEP_HINT} {ff.help_text}".strip()
            ff.widget.attrs["placeholder"] = "•••••••• (stored)"
        out[CRED_PREFIX + name] = ff
    for name, field in schema_fields(connector.config_serializer).items():
        ff = form_field(field)
        ff.required = bool(field.required)
        value = config.get(name, _initial(field))
        ff.initial = value
        out[CFG_PREFIX + name] = ff
    return out


def collect(cleaned: dict[str, Any], connector, stored_credentials: dict[str, Any],
            stored_config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The credentials and config objects from the typed fields; blank secrets keep the stored value;
    config keys the schema does not name (e.g. the console's stream selection) are kept."""
    credentials: dict[str, Any] = {}
    for name in schema_fields(connector.credentials_serializer):
        value = cleaned.get(CRED_PREFIX + name)
        if value in (None, ""):
            if stored_credentials.get(name) not in (None, ""):
                credentials[name] = stored_credentials[name]
        else:
            credentials[name] = value
    config = {k: v for k, v in (stored_config or {}).items() if k not in schema_fields(connector.config_serializer)}
    for name, field in schema_fields(connector.config_serializer).items():
        value = cleaned.get(CFG_PREFIX + name)
        if value in (None, "") and not isinstance(field, drf.BooleanField):
            if field.allow_null if hasattr(field, "allow_null") else False:
                config[name] = None
            continue  # the schema's default applies
        if isinstance(value, list):
            value = list(value)
        config[name] = float(value) if hasattr(value, "as_tuple") else value
    return credentials, config


def errors_to_fields(detail: Any, prefix: str) -> dict[str, list[str]]:
    """A serializer's error detail mapped onto the generated fields (``__all__`` for the rest)."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            messages = error_lines(value) if isinstance(value, list | dict) else [str(value)]
            target = "__all__" if key == "non_field_errors" else prefix + key
            out.setdefault(target, []).extend(messages)
    else:
        out["__all__"] = [str(d) for d in detail] if isinstance(detail, list) else [str(detail)]
    return out


# --- nested objects: a group of inputs, or a list of such groups --------------------------------------
@dataclasses.dataclass
class Leaf:
    """One input of a nested object: its dotted path, the kind of input and the serializer's words."""

    path: str
    label: str
    kind: str  # text, url, integer, decimal, boolean, choice, json
    group: str = ""  # the label of the nested object it sits in ("" at the top)
    help: str = ""
    required: bool = False
    choices: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    # Shown only while a sibling choice has one of some values: the serializer field's
    # ``style={"shown_for": {"type": ["basic", "oauth2"]}}`` (DRF's rendering hints).
    shown_for: tuple[str, str] | None = None
    default: Any = None  # shown in an empty input: what the serializer would fill in


def leaves(serializer: serializers.Serializer, prefix: str = "", group: str = "") -> list[Leaf]:
    """The writable fields of a (nested) serializer, flattened to dotted paths; a nested object's after
    the plain ones, under its label."""
    out: list[Leaf] = []
    nested: list[Leaf] = []
    for name, f in serializer.fields.items():
        if f.read_only:
            continue
        path = f"{prefix}{name}"
        if isinstance(f, serializers.Serializer):
            nested += leaves(f, f"{path}.", _label(f))
            continue
        if isinstance(f, drf.BooleanField):
            kind = "boolean"
        elif isinstance(f, drf.ListField) and isinstance(f.child, drf.CharField):
            kind = "list"  # comma-separated
        elif isinstance(f, drf.ChoiceField) and not isinstance(f, drf.MultipleChoiceField):
            kind = "choice"
        elif isinstance(f, drf.IntegerField):
            kind = "integer"
        elif isinstance(f, drf.FloatField | drf.DecimalField):
            kind = "decimal"
        elif isinstance(f, drf.URLField):
            kind = "url"
        elif isinstance(f, drf.CharField):
            kind = "text"
        else:
            kind = "json"
        choices = [(str(k), str(v)) for k, v in f.choices.items()] if kind == "choice" else []
        style = getattr(f, "style", None) or {}
        if kind == "text" and style.get("choices"):  # free text the serializer checks, offered as a select
            listed = style["choices"]() if callable(style["choices"]) else style["choices"]
            kind, choices = "choice", [(str(k), str(v)) for k, v in listed]
        shown = style.get("shown_for")
        shown_for = None
        if isinstance(shown, dict) and len(shown) == 1:
            (sibling, values), = shown.items()
            shown_for = (f"{prefix}{sibling}", ",".join(map(str, values)))
        out.append(Leaf(path, _label(f), kind, group, str(f.help_text or ""), bool(f.required), choices,
                        shown_for, _initial(f)))
    return out + nested


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


def _drop(data: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.get(part)
        if not isinstance(data, dict):
            return
    data.pop(last, None)


EXTRA = "__extra"  # a hidden input keeps the keys the inputs do not show, so a save does not lose them


class ObjectWidget(forms.Widget):
    """The inputs of one nested object, named ``<field>.<dotted path>``; its value is the object."""

    template_name = "integrations/widgets/object.html"

    def __init__(self, leaf_list: list[Leaf], attrs: dict[str, Any] | None = None):
        super().__init__(attrs)
        self.leaves = leaf_list
        self.errors: Any = None  # the serializer's error detail for this field, set by the form

    def format_value(self, value: Any) -> Any:
        return value

    def _read(self, data: Any, prefix: str) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        try:
            extra = json.loads(data.get(f"{prefix}.{EXTRA}") or "{}")
        except ValueError:
            extra = {}
        if isinstance(extra, dict):
            out.update(extra)
        seen = False
        for leaf in self.leaves:
            name = f"{prefix}.{leaf.path}"
            if leaf.kind == "boolean":
                seen = seen or f"{prefix}.{leaf.path}.present" in data
                if f"{name}.present" in data:
                    _set(out, leaf.path, name in data)
                continue
            if name not in data:
                continue
            seen = True
            text = (data.get(name) or "").strip()
            if text == "":
                _drop(out, leaf.path)  # the schema's default applies
                continue
            value: Any = text
            if leaf.kind == "integer" and re.fullmatch(r"-?\d{1,18}", text):
                value = int(text)
            elif leaf.kind == "list":
                value = [part.strip() for part in text.split(",") if part.strip()]
            elif leaf.kind == "json":
                try:
                    value = json.loads(text)
                except ValueError:
                    value = text  # the serializer says what is wrong with it
            _set(out, leaf.path, value)
        return out if seen or out else None

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return self._read(data, name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return not any(key.startswith(f"{name}.") for key in data)

    def _cells(self, prefix: str, value: Any, errors: Any) -> list[dict[str, Any]]:
        cells = []
        for leaf in self.leaves:
            raw = _get(value, leaf.path) if isinstance(value, dict) else None
            if raw is None:
                raw = leaf.default
            if raw in ({}, []):
                raw = None
            if raw is None:
                text = ""
            elif leaf.kind == "list" and isinstance(raw, list):
                text = ", ".join(map(str, raw))
            elif leaf.kind in ("json", "list") and not isinstance(raw, str):
                text = json.dumps(raw)
            else:
                text = str(raw).lower() if isinstance(raw, bool) else str(raw)
            leaf_errors = _get(errors, leaf.path) if isinstance(errors, dict) else None
            cells.append({"leaf": leaf, "name": f"{prefix}.{leaf.path}", "value": text, "checked": raw is True,
                          "shown_when": f"{prefix}.{leaf.shown_for[0]}" if leaf.shown_for else "",
                          "errors": [str(e) for e in leaf_errors] if isinstance(leaf_errors, list) else []})
        return cells

    def _extra(self, value: Any) -> str:
        if not isinstance(value, dict):
            return "{}"
        extra = json.loads(json.dumps(value, default=str))
        for leaf in self.leaves:
            _drop(extra, leaf.path)
        extra = {k: v for k, v in extra.items() if v not in ({}, None)}
        return json.dumps(extra)

    def _general(self, errors: Any) -> list[str]:
        if isinstance(errors, dict):
            return [str(e) for e in errors.get("non_field_errors", [])]
        if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
            return [str(e) for e in errors]
        return []

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["object"] = {"cells": self._cells(name, value, self.errors), "extra": self._extra(value),
                             "prefix": name, "errors": self._general(self.errors)}
        return context


class ObjectListWidget(ObjectWidget):
    """A list of nested objects, each a card of inputs named ``<field>-<n>.<dotted path>``; a template
    card with ``__i__`` is cloned by the console's script to add one."""

    template_name = "integrations/widgets/object_list.html"

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        pattern = re.compile(rf"^{re.escape(name)}-(\d+)\.")
        indexes = sorted({int(m.group(1)) for key in data if (m := pattern.match(key))})
        if not indexes and f"{name}.present" not in data:
            return None
        items = []
        for i in indexes:
            item = self._read(data, f"{name}-{i}")
            if item:  # a card left entirely blank is dropped
                items.append(item)
        return items

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}.present" not in data and not any(key.startswith(f"{name}-") for key in data)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = forms.Widget.get_context(self, name, value, attrs)
        items = value if isinstance(value, list) else []
        errors = self.errors
        if isinstance(errors, dict) and errors and all(str(k).isdigit() for k in errors):
            errors = [errors.get(i, errors.get(str(i))) for i in range(len(items))]  # a ListField's errors
        errors = errors if isinstance(errors, list) and len(errors) == len(items) and any(
            isinstance(e, dict) for e in errors) else None
        cards = []
        for i, item in enumerate(items):
            item_errors = errors[i] if errors else None
            cards.append({"index": i, "cells": self._cells(f"{name}-{i}", item, item_errors),
                          "extra": self._extra(item), "errors": self._general(item_errors),
                          "title": _get(item, "name") if isinstance(item, dict) else ""})
        context["list"] = {"cards": cards, "next": len(items), "prefix": name,
                           "template": {"cells": self._cells(f"{name}-__i__", {}, None), "extra": "{}"},
                           "errors": [] if errors else self._general(self.errors)
                           or ([str(self.errors)] if isinstance(self.errors, str) else [])}
        return context


class StructuredField(forms.Field):
    """A nested object or list of objects, as its widget read it; the connector's serializer validates it."""

    def to_python(self, value: Any) -> Any:
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        return initial != data


def error_lines(detail: Any, path: str = "") -> list[str]:
    """A nested serializer error detail as readable lines: ``streams #2 path: This field is required.``"""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            if key == "non_field_errors":
                where = path
            elif str(key).isdigit():  # a ListField's errors are keyed by index
                where = f"{path} #{int(key) + 1}".strip()
            else:
                where = f"{path} {key}" if path.endswith(tuple("0123456789")) and "#" in path else \
                    f"{path}.{key}" if path else str(key)
            out += error_lines(value, where)
        return out
    if isinstance(detail, list):
        if all(not isinstance(d, dict | list) for d in detail):
            return [f"{path}: {d}" if path else str(d) for d in detail]
        out = []
        for i, item in enumerate(detail):
            if item:
                out += error_lines(item, f"{path} #{i + 1}".strip())
        return out
    return [f"{path}: {detail}" if path else str(detail)]
