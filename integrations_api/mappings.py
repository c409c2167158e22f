"""Field mappings through the API: what each stream of an integration may map, and saving one stream's."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework import serializers

from connectors.mapping import (
    MAPPINGS_KEY,
    MappingConfigError,
    required_targets,
    targets_for,
    validate_mapping,
)
from connectors.registry import get_connector_class
from integrations.inputs import contains_nul
from integrations.models import Integration


def stored_mappings(integration: Integration) -> dict[str, Any]:
    value = (integration.config or {}).get(MAPPINGS_KEY)
    return value if isinstance(value, dict) else {}


def mapping_overview(integration: Integration) -> dict[str, Any]:
    """``{stream: {"model", "targets": {field: type word}, "fields": [stored entries]}}``."""
    stored = stored_mappings(integration)
    out: dict[str, Any] = {}
    for name, stream in get_connector_class(integration.provider).streams_for(integration).items():
        entries = stored.get(name)
        out[name] = {"model": stream.model, "targets": targets_for(stream.model),
                     "fields": entries if isinstance(entries, list) else []}
    return out


def _flatten(detail: Any, path: str = "") -> list[dict[str, Any]]:
    """A DRF error tree as flat ``{"index", "field", "message"}`` entries (ours pass through)."""
    if isinstance(detail, dict):
        if {"field", "message"} <= set(detail):
            return [{"index": detail.get("index"), "field": str(detail["field"]), "message": str(detail["message"])}]
        out: list[dict[str, Any]] = []
        for key, value in detail.items():
            out += _flatten(value, f"{path}.{key}" if path else str(key))
        return out
    if isinstance(detail, list):
        return [e for item in detail for e in _flatten(item, path)]
    return [{"index": None, "field": path, "message": str(detail)}]


def save_mapping(integration: Integration, stream: str, body: Any) -> list[dict[str, Any]]:
    """Validate and store ``body["fields"]`` as ``stream``'s mapping (an empty list removes it); return the
    normalised entries. Raises MappingConfigError, with nothing saved."""
    if not isinstance(body, dict) or "fields" not in body:
        raise MappingConfigError([{"index": None, "field": "fields", "message": "the body is {\"fields\": [...]}"}])
    if contains_nul(body["fields"]):  # PostgreSQL cannot store NUL in JSON
        raise MappingConfigError([{"index": None, "field": "fields", "message": "null characters are not allowed"}])
    connector = get_connector_class(integration.provider)
    with transaction.atomic():
        integ = Integration.objects.select_for_update().get(pk=integration.pk)
        streams = connector.streams_for(integ)
        if stream not in streams:
            raise MappingConfigError([{"index": None, "field": "stream",
                                       "message": f"unknown stream {stream[:100]!r}; one of: "
                                                  f"{', '.join(streams) or 'none'}"}])
        model = streams[stream].model
        entries = validate_mapping(model, body["fields"])
        if connector.configured_streams:  # the mapping builds whole records: it must give the required fields
            given = {e["target"] for e in entries}
            need = [t for t in required_targets(model) if t not in given]
            if need:
                raise MappingConfigError([{"index": None, "field": "fields", "message": (
                    f"must map {', '.join(need)} (required fields of {model})")}])
        config = dict(integ.config or {})
        mappings = {k: v for k, v in stored_mappings(integ).items() if k != stream}
        if entries:
            mappings[stream] = entries
        config[MAPPINGS_KEY] = mappings
        try:  # the provider's own rules too (a REST stream's mapping must give the model's required fields)
            connector.validate_config(config)
        except serializers.ValidationError as exc:
            raise MappingConfigError(_flatten(exc.detail)) from None
        if not mappings:
            config.pop(MAPPINGS_KEY)
        integ.config = config
        integ.save(update_fields=["config", "updated_at"])
    integration.config = config
    return entries
