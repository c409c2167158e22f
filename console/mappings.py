"""The field mapping editor: per integration and stream, staff override or add mapped fields and preview
one page of the result (integration.config["field_mappings"][stream], applied by the sync runner).

Rows are posted as ``m-<row>-target``, ``m-<row>-source``, ``m-<row>-t-<n>-op`` and
``m-<row>-t-<n>-params`` (a JSON object of the transform's parameters). The page works for every
connector with streams; who may do what follows the console's roles: a viewer reads, a manager may
also preview (it calls the provider), an admin saves.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from connectors.base import Stream
from connectors.errors import ConnectorError
from connectors.mapping import (
    MAPPINGS_KEY,
    TRANSFORMS,
    MappingConfigError,
    required_targets,
    targets_for,
)
from connectors.registry import get_connector_class
from integrations.admin_base import has_org_role
from integrations.models import Integration, Role
from integrations_api.mappings import save_mapping
from syncjobs.preview import PreviewError, preview_stream

logger = logging.getLogger(__name__)

# An example of each transform's parameters (a hint for its params box); the ops are the mapping layer's.
_HINTS: dict[str, str] = {
    "decimal": '{"places": 2}',
    "date": '{"format": "%d.%m.%Y"}',
    "datetime": '{"format": "%Y-%m-%dT%H:%M:%S"}',
    "default": '{"value": ""}',
    "lookup": '{"table": {"A": "active"}, "default": "inactive"}',
    "join": '{"sep": " "}',
    "minor_to_major": '{"exponent": 2}',
    "major_to_minor": '{"exponent": 2}',
}
OPS: dict[str, str] = {op: _HINTS.get(op, "") for op in TRANSFORMS}
_ROW_KEY = re.compile(r"^m-(\d+)-target$")
_TRANSFORM_KEY = re.compile(r"^m-(\d+)-t-(\d+)-op$")


@dataclass
class Row:
    """One editor row as shown: the entry's parts in form-friendly shapes, and its errors."""

    target: str = ""
    key: str = ""  # a key inside a JSON field target ("attributes" + "colour" = attributes.colour)
    source: str = ""
    transforms: list[tuple[str, str]] = field(default_factory=list)  # (op, params as JSON text)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Row:
        source = entry.get("source", "")
        transforms = []
        for t in entry.get("transforms") or []:
            params = {k: v for k, v in t.items() if k != "op"}
            transforms.append((str(t.get("op", "")), json.dumps(params, ensure_ascii=False) if params else ""))
        target, _, key = str(entry.get("target", "")).partition(".")
        return cls(target=target, key=key,
                   source=", ".join(map(str, source)) if isinstance(source, list) else str(source or ""),
                   transforms=transforms)


def streams_of(integration: Integration) -> dict[str, Stream]:
    """The integration's streams (a REST integration's come from its own config)."""
    try:
        connector = get_connector_class(integration.provider)
    except KeyError:
        return {}
    return dict(connector.streams_for(integration))


def _configured(integration: Integration) -> bool:
    try:
        return get_connector_class(integration.provider).configured_streams
    except KeyError:
        return False


def parse_rows(post: Any) -> tuple[list[dict[str, Any]], list[Row]]:
    """The posted rows as mapping entries (blank rows dropped) and as rows to show again.

    A params box that is not a JSON object is an error on its row; the entry keeps the op alone so
    the rest of the row is still validated.
    """
    indexes = sorted(int(m.group(1)) for key in post if (m := _ROW_KEY.match(key)))
    entries, rows = [], []
    for i in indexes:
        target = post.get(f"m-{i}-target", "").strip()
        key = post.get(f"m-{i}-key", "").strip()
        source_text = post.get(f"m-{i}-source", "").strip()
        steps = sorted((int(m.group(2)), name) for name in post
                       if (m := _TRANSFORM_KEY.match(name)) and int(m.group(1)) == i)
        row = Row(target=target, key=key, source=source_text)
        transforms = []
        for n, op_name in steps:
            op = post.get(op_name, "").strip()
            params_text = post.get(f"m-{i}-t-{n}-params", "").strip()
            if not op and not params_text:
                continue
            row.transforms.append((op, params_text))
            params: Any = {}
            if params_text:
                try:
                    params = json.loads(params_text)
                except ValueError:
                    params = None
                if not isinstance(params, dict):
                    row.errors.append(f"transform {len(transforms) + 1} ({op or 'no op'}): the parameters must be "
                                      'a JSON object, e.g. {"exponent": 2}')
                    params = {}
            transforms.append({**params, "op": op})
        if not target and not source_text and not transforms:
            continue
        sources = [s.strip() for s in source_text.split(",") if s.strip()]
        entry: dict[str, Any] = {"target": f"{target}.{key}" if target and key else target,
                                 "source": sources if len(sources) > 1 else source_text}
        if transforms:
            entry["transforms"] = transforms
        entries.append(entry)
        rows.append(row)
    return entries, rows


def attach_errors(rows: list[Row], errors: list[dict[str, Any]]) -> list[str]:
    """Put each validation error on its row; errors about the whole mapping are returned."""
    general = []
    for error in errors:
        index, where, text = error.get("index"), error.get("field") or "", error.get("message", "")
        message = f"{where}: {text}" if where else text
        if isinstance(index, int) and 0 <= index < len(rows):
            rows[index].errors.append(message)
        else:
            general.append(message)
    return general


def _integration(admin_view: Any, request: HttpRequest, pk: int) -> Integration:
    # The admin's own queryset is organization-scoped: another organization's integration is a 404.
    integration = admin_view.get_queryset(request).filter(pk=pk).first()
    if integration is None or not admin_view.has_view_permission(request, integration):
        raise Http404("No such integration.")
    return integration


def mapping_view(admin_view: Any, request: HttpRequest, pk: int, stream: str | None = None) -> HttpResponse:
    """GET: the streams and, for one stream, its rows. POST ``_save``: validate and store;
    POST ``_preview``: fetch and map one page with the rows as posted, store nothing."""
    integration = _integration(admin_view, request, pk)
    streams = streams_of(integration)
    may_save = admin_view.has_change_permission(request, integration)
    may_preview = has_org_role(request, integration.organization_id, Role.MANAGER)
    context: dict[str, Any] = {
        **admin_view.admin_site.each_context(request), "opts": Integration._meta, "integration": integration,
        "title": f"Field mappings — {integration.name}", "streams": [], "may_save": may_save,
        "may_preview": may_preview, "transforms": OPS, "stream": None,
        "configured": _configured(integration),
        "change_url": reverse("admin:integrations_integration_change", args=[integration.pk]),
    }
    stored = (integration.config or {}).get(MAPPINGS_KEY) or {}
    for name, s in streams.items():
        context["streams"].append({"name": name, "model": s.model, "overrides": len(stored.get(name) or []),
                                   "url": reverse("admin:integrations_integration_mapping",
                                                  args=[integration.pk, name])})
    if stream is None:
        if request.method == "POST":
            return HttpResponse(status=405)
        return TemplateResponse(request, "console/mapping_editor.html", context)
    if stream not in streams:
        raise Http404("No such stream.")
    model = streams[stream].model
    targets = targets_for(model)
    # A stream configured per integration (REST) builds whole records from its mapping alone.
    required = required_targets(model) if _configured(integration) else []
    context.update(stream=stream, model=model, targets=targets, required=required, general_errors=[],
                   preview=None)

    if request.method != "POST":
        context["rows"] = [Row.from_entry(e) for e in stored.get(stream) or []]
        return TemplateResponse(request, "console/mapping_editor.html", context)

    entries, rows = parse_rows(request.POST)
    context["rows"] = rows
    if any(r.errors for r in rows):
        context["general_errors"] = ["Fix the rows marked below."]
        return TemplateResponse(request, "console/mapping_editor.html", context, status=400)
    if "_preview" in request.POST:
        if not may_preview:
            raise PermissionDenied("Previewing calls the provider: a manager's role is needed.")
        return _preview(request, integration, stream, entries, rows, context)
    if not may_save:
        raise PermissionDenied("Changing mappings needs an admin's role.")
    try:
        # The API's own save: the same checks (a REST stream's mapping must give the required fields).
        normalised = save_mapping(integration, stream, {"fields": entries})
    except MappingConfigError as exc:
        context["general_errors"] = attach_errors(rows, exc.errors) or ["Fix the rows marked below."]
        logger.info("mapping for integration %s stream %s rejected: %s", integration.pk, stream, exc.errors)
        return TemplateResponse(request, "console/mapping_editor.html", context, status=400)
    logger.info("mapping for integration %s stream %s saved by %s: %d field(s)", integration.pk, stream,
                request.user.pk, len(normalised))
    messages.success(request, f"Saved {len(normalised)} field mapping(s) for {stream}; the next sync uses them.")
    return HttpResponseRedirect(request.path)


def _preview(request: HttpRequest, integration: Integration, stream: str, entries: list[dict[str, Any]],
             rows: list[Row], context: dict[str, Any]) -> HttpResponse:
    # In the request, like "Save and test": bounded by the HTTP client's timeouts and retry budget.
    try:
        result = preview_stream(integration, stream, mapping=entries)
    except MappingConfigError as exc:
        context["general_errors"] = attach_errors(rows, exc.errors) or ["Fix the rows marked below."]
        return TemplateResponse(request, "console/mapping_editor.html", context, status=400)
    except (ConnectorError, PreviewError) as exc:
        logger.info("preview of integration %s stream %s failed: %s", integration.pk, stream, exc)
        context["general_errors"] = [f"No preview: {exc}"]
        return TemplateResponse(request, "console/mapping_editor.html", context, status=400)
    preview = result.as_dict()
    creates = preview.get("create") or []
    fields: list[str] = []
    refs: list[str] = []
    for row in creates:
        fields += [k for k in row.get("fields") or {} if k not in fields]
        refs += [k for k in row.get("refs") or {} if k not in refs]
    preview["columns"] = ["external id", *fields, *(f"{name} (ref)" for name in refs)]
    preview["create_rows"] = [[row.get("external_id"), *(_cell((row.get("fields") or {}).get(f)) for f in fields),
                               *(_cell((row.get("refs") or {}).get(r)) for r in refs)] for row in creates]
    preview["update_rows"] = [{"external_id": u.get("external_id"), "changes": [
        (name, _cell(pair[0]), _cell(pair[1])) for name, pair in (u.get("changes") or {}).items()]}
        for u in preview.get("update") or []]
    context["preview"] = preview
    return TemplateResponse(request, "console/mapping_editor.html", context)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
