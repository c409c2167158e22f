"""Admin form for integrations: secrets are shown masked and the mask means "unchanged".

The encrypted model fields are left out of the form (a model form would render their plaintext
into the page); the form edits them through masked stand-ins and writes them back in ``save``.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from rest_framework import serializers
from unfold.widgets import INPUT_CLASSES, UnfoldAdminCheckboxSelectMultipleWidget

from connectors.registry import get_connector_class, provider_choices
from integrations.audit import is_mask, mask_credentials, merge_credentials
from integrations.inputs import MaskedTextInput, contains_nul
from integrations.models import Integration
from integrations.redaction import MASK
from integrations.schema_form import (
    CFG_PREFIX,
    CRED_PREFIX,
    ObjectWidget,
    build_fields,
    collect,
    errors_to_fields,
    schema_fields,
)
from syncjobs.services import SCHEDULED_STREAMS_KEY

from .serializers import json_safe


def _error_text(detail: Any) -> str:
    return json.dumps(detail, default=str) if not isinstance(detail, str) else detail


class MaskedJSONTextarea(forms.Textarea):
    """Renders a credentials object with every set value masked, whatever it holds.

    Also when a submitted form comes back with errors: like a password input, the page never
    echoes a secret that was typed; the user enters it again.
    """

    def format_value(self, value):
        text = super().format_value(value)
        if not text:
            return text
        try:
            data = json.loads(text)
        except ValueError:
            return ""  # unparsable input may hold secrets: show nothing rather than echo it
        return json.dumps(mask_credentials(data) if isinstance(data, dict) else {}, indent=2)


class IntegrationAdminForm(forms.ModelForm):
    provider = forms.ChoiceField(choices=())
    base_url = forms.URLField(required=False, max_length=500, assume_scheme="https",
                              help_text="Empty: the provider's default API address.")
    credentials_masked = forms.JSONField(
        label="Credentials",
        required=False,
        initial=dict,
        help_text=f"A JSON object. Stored secrets show as {MASK}: leave a value as {MASK} to keep it, "
        "replace it to change it, set it to null or remove the key to delete it.",
        widget=MaskedJSONTextarea(attrs={"rows": 6, "cols": 80, "autocomplete": "off", "spellcheck": "false"}),
    )
    webhook_secret_masked = forms.CharField(
        label="Webhook secret",
        required=False,
        strip=False,
        help_text=f"Shown as {MASK} when set: keep {MASK} to leave it unchanged, clear the box to remove it.",
        widget=MaskedTextInput(attrs={"autocomplete": "off", "size": 60}),
    )

    class Meta:
        model = Integration
        # Never the encrypted fields themselves: a model form would render their plaintext.
        fields = ["organization", "name", "code", "type", "provider", "status", "description", "base_url", "config",
                  "sync_interval_minutes", "auto_sync_enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = provider_choices() or [(self.instance.provider, self.instance.provider)]
        if self.instance.pk:
            self.initial["credentials_masked"] = mask_credentials(self.instance.credentials)
            self.initial["webhook_secret_masked"] = MASK if self.instance.webhook_secret else ""

    def clean_credentials_masked(self) -> dict[str, Any]:
        value = self.cleaned_data.get("credentials_masked")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError("Enter a JSON object.")
        if contains_nul(value):  # PostgreSQL cannot store NUL in JSON
            raise forms.ValidationError("Null characters are not allowed.")
        return value

    def clean_config(self) -> Any:
        value = self.cleaned_data.get("config")
        if contains_nul(value):
            raise forms.ValidationError("Null characters are not allowed.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        organization_id = data["organization"].pk if data.get("organization") else self.instance.organization_id
        code = data.get("code")
        if code and organization_id:
            taken = Integration.objects.filter(organization_id=organization_id, code=code).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("code", "An integration with this code already exists in this organization.")
        provider = data.get("provider")
        if not provider:
            return data
        try:
            connector = get_connector_class(provider)
        except KeyError:
            self.add_error("provider", "unknown provider")
            return data
        try:
            data["config"] = json_safe(connector.validate_config(data.get("config") or {}))
        except serializers.ValidationError as exc:
            self.add_error("config", _error_text(exc.detail))
        if "credentials_masked" in data:
            incoming = data["credentials_masked"]
            current = dict(self.instance.credentials or {}) if self.instance.pk else {}
            # A key removed from the JSON is deleted; a masked one is kept.
            merged = merge_credentials({k: v for k, v in current.items() if k in incoming}, incoming)
            try:
                data["credentials"] = json_safe(connector.validate_credentials(merged))
            except serializers.ValidationError as exc:
                self.add_error("credentials_masked", _error_text(exc.detail))
        secret = data.get("webhook_secret_masked", "")
        data["webhook_secret"] = self.instance.webhook_secret if is_mask(secret) else secret
        return data

    def save(self, commit: bool = True) -> Integration:
        integration = super().save(commit=False)
        if "credentials" in self.cleaned_data:
            if integration.pk and self.cleaned_data["credentials"] != integration.credentials:
                integration.token_cache = {}  # a token obtained with the old credentials must not outlive them
            integration.credentials = self.cleaned_data["credentials"]
        integration.webhook_secret = self.cleaned_data.get("webhook_secret", integration.webhook_secret)
        if commit:
            integration.save()
        return integration


SYNC_STREAMS_KEY = SCHEDULED_STREAMS_KEY


def show_nested_errors(form: forms.Form, detail: Any, prefix: str) -> None:
    """Hand a nested object's error detail to its widget, which marks the very inputs at fault."""
    if not isinstance(detail, dict):
        return
    for key, value in detail.items():
        field = form.fields.get(prefix + str(key))
        if field is not None and isinstance(field.widget, ObjectWidget):
            field.widget.errors = value


class SchemaConnectForm(IntegrationAdminForm):
    """Connect a provider by its schema: typed fields instead of JSON (the class is built per provider)."""

    connector = None  # set by connect_form_for

    class Meta(IntegrationAdminForm.Meta):
        fields = ["organization", "name", "code", "type", "status", "description", "base_url",
                  "sync_interval_minutes", "auto_sync_enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("credentials_masked", None)
        self.fields.pop("config", None)
        self.fields["provider"].initial = self.connector.provider
        self.fields["provider"].widget = forms.HiddenInput()
        self.fields["provider"].required = False
        if "description" in self.fields:
            self.fields["description"].widget.attrs["rows"] = 2
        # Declared (not model) fields get the console's input style too.
        self.fields["webhook_secret_masked"].widget.attrs["class"] = " ".join(INPUT_CLASSES)
        if not self.instance.pk:
            self.initial.setdefault("type", self.connector.integration_type)
        stored = self.instance.config or {}
        streams = self.connector.streams_for(self.instance)
        if streams:
            # Stored in config (the model has no field for it); beat's dispatcher reads it (syncjobs.services).
            self.fields["sync_streams"] = forms.MultipleChoiceField(
                required=False, widget=UnfoldAdminCheckboxSelectMultipleWidget, label="Streams a scheduled run syncs",
                choices=[(name, name) for name in streams],
                help_text="None ticked: every stream. Manual syncs choose their own.",
            )
            self.initial["sync_streams"] = stored.get(SYNC_STREAMS_KEY) or []
        for name, field in build_fields(self.connector, self.instance.credentials or {}, stored).items():
            self.fields[name] = field
            if name.startswith(CFG_PREFIX):
                self.initial[name] = field.initial

    def clean(self) -> dict[str, Any]:
        data = forms.ModelForm.clean(self)
        data["provider"] = self.connector.provider
        organization_id = data["organization"].pk if data.get("organization") else self.instance.organization_id
        code = data.get("code")
        if code and organization_id:
            taken = Integration.objects.filter(organization_id=organization_id, code=code).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("code", "An integration with this code already exists in this organization.")
        stored_credentials = dict(self.instance.credentials or {}) if self.instance.pk else {}
        credentials, config = collect(data, self.connector, stored_credentials, self.instance.config or {})
        if contains_nul(credentials) or contains_nul(config):  # PostgreSQL cannot store NUL in JSON
            raise forms.ValidationError("Null characters are not allowed.")
        config.pop(SYNC_STREAMS_KEY, None)
        if data.get("sync_streams"):
            config[SYNC_STREAMS_KEY] = [s for s in self.connector.streams_for(self.instance)
                                        if s in data["sync_streams"]]
        for label, validate, value, prefix, target in (
            ("config", self.connector.validate_config, config, CFG_PREFIX, "config"),
            ("credentials", self.connector.validate_credentials, credentials, CRED_PREFIX, "credentials"),
        ):
            try:
                validated = json_safe(validate(value))
            except serializers.ValidationError as exc:
                show_nested_errors(self, exc.detail, prefix)
                for field, messages in errors_to_fields(exc.detail, prefix).items():
                    for message in messages:
                        self.add_error(field if field in self.fields else None, f"{label}: {message}"
                                       if field not in self.fields else message)
                continue
            if target == "config":
                extra = {k: v for k, v in value.items() if k not in schema_fields(self.connector.config_serializer)}
                validated = {**validated, **extra}  # the console's own keys (stream selection) survive
            data[target] = validated
        secret = data.get("webhook_secret_masked", "")
        data["webhook_secret"] = self.instance.webhook_secret if is_mask(secret) else secret
        return data

    def save(self, commit: bool = True) -> Integration:
        integration = super().save(commit=False)
        integration.provider = self.connector.provider
        if "config" in self.cleaned_data:
            integration.config = self.cleaned_data["config"]
        if commit:
            integration.save()
        return integration


def connect_form_for(provider: str) -> type[SchemaConnectForm] | None:
    """The typed form of a provider, or None when it declares no schema (the JSON form then)."""
    try:
        connector = get_connector_class(provider)
    except KeyError:
        return None
    if connector.credentials_serializer is None and connector.config_serializer is None:
        return None
    # Declared on the class (the admin checks its fieldsets against them); __init__ refines them per instance.
    declared: dict[str, Any] = {"connector": connector, **build_fields(connector, {}, {})}
    if connector.streams or connector.configured_streams:
        declared["sync_streams"] = forms.MultipleChoiceField(required=False,
                                                             choices=[(s, s) for s in connector.streams])
    return type(f"{connector.__name__}ConnectForm", (SchemaConnectForm,), declared)
