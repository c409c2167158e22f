"""Admin form fields generated from a connector's credential and config schemas (DRF serializers).

Staff connect a provider by filling typed fields (numbers, switches, choices, URLs) with the
provider's own help texts, never by typing JSON. Every credential field is a password input that
never renders its stored value: left blank, the stored value is kept.
"""

from __future__ import annotations

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


def form_field(field: drf.Field, *, secret: bool = False) -> forms.Field:
    """The Django form field for one serializer field; unknown kinds fall back to a JSON box."""
    common: dict[str, Any] = {"required": False, "help_text": field.help_text or "",
                              "label": field.label or field.field_name.replace("_", " ").capitalize()}
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
            messages = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            target = "__all__" if key == "non_field_errors" else prefix + key
            out.setdefault(target, []).extend(messages)
    else:
        out["__all__"] = [str(d) for d in detail] if isinstance(detail, list) else [str(detail)]
    return out
