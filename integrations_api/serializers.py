"""API serializers. Secrets are write-only: credentials come back masked, the webhook secret as a flag."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from connectors.registry import get_connector_class
from integrations.audit import is_mask, mask_credentials, merge_credentials
from integrations.inputs import contains_nul
from integrations.models import ApiKey, CredentialAudit, Integration, IntegrationLog, Role


def json_safe(value: dict[str, Any]) -> dict[str, Any]:
    # Connector serializers may return Decimals, dates or ordered dicts; store plain JSON.
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _field_errors(exc: serializers.ValidationError) -> Any:
    return exc.detail


def _json_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise serializers.ValidationError("Expected an object.")
    # PostgreSQL cannot store NUL in JSON or text (the credential audit keeps field names): was a 500.
    if contains_nul(value):
        raise serializers.ValidationError("Null characters are not allowed.")
    return value


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JSONObjectField(serializers.JSONField):
    """A JSON field that takes only an object (checked by the serializer), and says so in the OpenAPI schema."""


class IntegrationSerializer(serializers.ModelSerializer):
    credentials = JSONObjectField(required=False, help_text="Write-only; answers show each set field masked.")
    config = JSONObjectField(required=False, help_text="Validated against the connector's schema.")
    webhook_secret = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, write_only=True, trim_whitespace=False,
        help_text="Write-only; the mask (********) means unchanged, empty or null removes it.",
    )
    webhook_secret_set = serializers.SerializerMethodField()
    webhook_url = serializers.CharField(read_only=True)
    callback_url = serializers.SerializerMethodField(
        help_text="The URL the provider calls for this integration (its webhooks or protocol callbacks)."
    )
    type = serializers.ChoiceField(choices=Integration._meta.get_field("type").choices, required=False)

    class Meta:
        model = Integration
        fields = [
            "id", "name", "code", "type", "provider", "status", "description", "base_url",
            "credentials", "webhook_secret", "webhook_secret_set", "webhook_url", "callback_url",
            "config",
            "sync_interval_minutes", "auto_sync_enabled", "last_sync_at", "next_sync_at", "metadata",
            "last_connected_at", "connection_error", "created_at", "updated_at",
        ]
        read_only_fields = [
            "last_sync_at", "next_sync_at", "metadata", "last_connected_at", "connection_error",
            "created_at", "updated_at",
        ]
        # Uniqueness of code is checked per organization in validate_code, not by the model validator.
        validators: list = []

    def get_callback_url(self, obj: Integration) -> str:
        return obj.callback_url

    def get_webhook_secret_set(self, obj: Integration) -> bool:
        return bool(obj.webhook_secret)

    def to_representation(self, instance: Integration) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["credentials"] = mask_credentials(instance.credentials)
        return data

    def validate_provider(self, value: str) -> str:
        try:
            get_connector_class(value)
        except KeyError:
            raise serializers.ValidationError("unknown provider") from None
        return value

    def validate_code(self, value: str) -> str:
        organization = self.context["request"].organization
        taken = Integration.objects.filter(organization=organization, code=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("An integration with this code already exists in this organization.")
        return value

    def validate_credentials(self, value: Any) -> dict[str, Any]:
        return _json_object(value)

    def validate_config(self, value: Any) -> dict[str, Any]:
        return _json_object(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        provider = attrs.get("provider") or (instance.provider if instance else None)
        if not provider:
            raise serializers.ValidationError({"provider": "This field is required."})
        connector = get_connector_class(provider)
        errors: dict[str, Any] = {}

        if "config" in attrs or instance is None or "provider" in attrs:
            config = attrs.get("config", instance.config if instance else {})
            try:
                attrs["config"] = json_safe(connector.validate_config(config))
            except serializers.ValidationError as exc:
                errors["config"] = _field_errors(exc)

        if "credentials" in attrs or instance is None or "provider" in attrs:
            merged = merge_credentials(instance.credentials if instance else {}, attrs.get("credentials", {}))
            try:
                attrs["credentials"] = json_safe(connector.validate_credentials(merged))
            except serializers.ValidationError as exc:
                errors["credentials"] = _field_errors(exc)

        if "webhook_secret" in attrs:
            if is_mask(attrs["webhook_secret"]):
                del attrs["webhook_secret"]
            elif attrs["webhook_secret"] is None:
                attrs["webhook_secret"] = ""
        if instance is not None and "credentials" in attrs and attrs["credentials"] != instance.credentials:
            # A token obtained with the old credentials must not outlive them.
            attrs["token_cache"] = {}
        if instance is None and not attrs.get("type"):
            attrs["type"] = connector.integration_type
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class SyncRequestSerializer(serializers.Serializer):
    streams = serializers.ListField(child=serializers.CharField(), required=False, allow_empty=False)
    full = serializers.BooleanField(required=False, default=False)


class ApiKeySerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)
    revoked = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "created_at", "last_used_at", "revoked", "revoked_at"]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]

    def get_revoked(self, obj: ApiKey) -> bool:
        return not obj.is_active


class CredentialAuditSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()
    api_key = serializers.SerializerMethodField()

    class Meta:
        model = CredentialAudit
        fields = ["id", "integration", "integration_code", "action", "fields", "user", "api_key", "via", "created_at"]

    def get_user(self, obj: CredentialAudit) -> str | None:
        return obj.user.get_username() if obj.user_id else None

    def get_api_key(self, obj: CredentialAudit) -> str | None:
        return obj.api_key.prefix if obj.api_key_id else None


class IntegrationLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = IntegrationLog
        fields = [
            "id", "integration", "action", "direction", "level", "method", "endpoint", "status_code",
            "duration_ms", "request_excerpt", "response_excerpt", "error_message", "sync_job_id", "created_at",
        ]


# --- provider descriptions (answers of /api/v1/providers; built by providers.describe) ---------------
class ProviderFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()
    help_text = serializers.CharField()
    secret = serializers.BooleanField(required=False, help_text="Credential fields only.")
    choices = serializers.ListField(child=serializers.CharField(), required=False)
    default = serializers.JSONField(required=False)


class ProviderStreamSerializer(serializers.Serializer):
    name = serializers.CharField()
    model = serializers.CharField()
    supports_incremental = serializers.BooleanField()
    delete_strategy = serializers.CharField()
    depends_on = serializers.ListField(child=serializers.CharField())


class ProviderSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    default_base_url = serializers.CharField()
    credential_fields = ProviderFieldSerializer(many=True)
    config_fields = ProviderFieldSerializer(many=True)
    streams = ProviderStreamSerializer(many=True)
    configured_streams = serializers.BooleanField(
        help_text="The streams are built per integration from its config (see GET .../mappings/), not listed here.")
    supports_webhooks = serializers.BooleanField()
    supports_push = serializers.BooleanField()


# --- field mappings and preview (integrations_api.mappings, syncjobs.preview) -------------------------
class MappingEntrySerializer(serializers.Serializer):
    target = serializers.CharField(help_text="A field of the stream's record model, or a reference name.")
    source = serializers.JSONField(required=False, help_text="A dotted path into the source record "
                                                             "(items.0.id), or a list of paths for join.")
    transforms = serializers.ListField(child=serializers.DictField(), required=False,
                                       help_text='In order, each {"op": ...}: number, decimal (places), date / '
                                                 'datetime (format), default (value), lookup (table, default), '
                                                 'join (sep), minor_to_major / major_to_minor (exponent), string, '
                                                 'lower, upper, strip.')
    ref = serializers.BooleanField(required=False, help_text="The value is another record's external id.")


class MappingUpdateSerializer(serializers.Serializer):
    fields = MappingEntrySerializer(many=True, help_text="The stream's whole mapping; [] removes it.")


class MappingErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True, help_text="The entry's position, or null for the whole.")
    field = serializers.CharField(allow_blank=True, help_text="The entry's key (transforms[0].op), empty for "
                                                             "the entry itself.")
    message = serializers.CharField()


class MappingErrorsSerializer(serializers.Serializer):
    """A 400: the API's usual envelope, and (an invalid mapping) one entry per problem in ``errors``."""

    errors = MappingErrorSerializer(many=True, required=False, help_text="Present when the mapping is invalid.")
    error = serializers.DictField(help_text="The API's usual envelope: code (invalid_mapping for a mapping), "
                                            "message, details.")


class PreviewRequestSerializer(serializers.Serializer):
    stream = serializers.CharField(max_length=100)
    fields = serializers.ListField(child=serializers.JSONField(), required=False, allow_null=True, max_length=200,
                                   help_text="An unsaved mapping to preview with; absent: the stored one.")


class PreviewChangeSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    changes = serializers.DictField(child=serializers.ListField(), help_text="field -> [old, new]")


class PreviewCreateSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    fields = serializers.DictField()
    refs = serializers.DictField()
    warnings = serializers.ListField(child=serializers.CharField())


class PreviewErrorSerializer(serializers.Serializer):
    external_id = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    stream = serializers.CharField()
    model = serializers.CharField()
    create = PreviewCreateSerializer(many=True)
    update = PreviewChangeSerializer(many=True)
    unchanged = serializers.IntegerField()
    delete = serializers.ListField(child=serializers.CharField())
    errors = PreviewErrorSerializer(many=True)
