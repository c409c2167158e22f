"""Describe the connector registry for the API: what each provider needs and what it can sync."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from connectors.base import Connector
from connectors.registry import providers

# DRF field class -> the type name clients see. Subclasses resolve through their MRO.
FIELD_TYPES: dict[type, str] = {
    serializers.BooleanField: "boolean",
    serializers.IntegerField: "integer",
    serializers.FloatField: "number",
    serializers.DecimalField: "number",
    serializers.URLField: "url",
    serializers.EmailField: "email",
    serializers.ChoiceField: "choice",
    serializers.DictField: "object",
    serializers.JSONField: "object",
    serializers.ListField: "array",
    serializers.CharField: "string",
}


def field_type(field: serializers.Field) -> str:
    for cls in type(field).__mro__:
        if cls in FIELD_TYPES:
            return FIELD_TYPES[cls]
    return "string"


def describe_field(name: str, field: serializers.Field, secret: bool | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": name,
        "type": field_type(field),
        "required": bool(field.required),
        "help_text": str(field.help_text or ""),
    }
    if secret is not None:
        info["secret"] = secret
    if isinstance(field, serializers.ChoiceField):
        info["choices"] = [str(choice) for choice in field.choices]
    default = getattr(field, "default", serializers.empty)
    if default is not serializers.empty and not callable(default):
        info["default"] = default
    return info


def _fields(serializer_class: type[serializers.Serializer] | None) -> dict[str, serializers.Field]:
    return dict(serializer_class().fields) if serializer_class is not None else {}


def describe(cls: type[Connector]) -> dict[str, Any]:
    secret = set(cls.secret_fields)
    return {
        "code": cls.provider,
        "name": cls.display_name or cls.provider,
        "type": cls.integration_type,
        "default_base_url": cls.default_base_url,
        "credential_fields": [
            # Every credential is write-only; "secret" says which ones are secrets in themselves
            # (passwords, keys), as opposed to identifiers such as a client id.
            describe_field(name, field, secret=name in secret or field.write_only)
            for name, field in _fields(cls.credentials_serializer).items()
        ],
        "config_fields": [describe_field(name, field) for name, field in _fields(cls.config_serializer).items()],
        "streams": [
            {
                "name": name,
                "model": stream.model,
                "supports_incremental": stream.supports_incremental,
                "delete_strategy": stream.delete_strategy,
                "depends_on": list(stream.depends_on),
            }
            for name, stream in cls.streams.items()
        ],
        # True: the streams are not listed here but built per integration from its config (generic REST).
        "configured_streams": cls.configured_streams,
        "supports_webhooks": cls.verify_webhook is not Connector.verify_webhook,
        "supports_push": cls.push is not Connector.push,
    }


def describe_all() -> list[dict[str, Any]]:
    return [describe(cls) for cls in providers().values()]
