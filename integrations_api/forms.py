"""Admin form for integrations: secrets are shown masked and the mask means "unchanged".

The encrypted model fields are left out of the form (a model form would render their plaintext
into the page); the form edits them through masked stand-ins and writes them back in ``save``.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from rest_framework import serializers

from connectors.registry import get_connector_class, provider_choices
from integrations.audit import is_mask, mask_credentials, merge_credentials
from integrations.inputs import MaskedTextInput, contains_nul
from integrations.models import Integration
from integrations.redaction import MASK

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
