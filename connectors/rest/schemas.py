"""What a user enters to connect a generic REST API: the auth, the streams, and each stream's field mapping.

The top-level config keys are JSON objects (so the admin shows one box each and the console builds its
own editor); each is validated here with errors that name the stream and the key, e.g.
``{"streams": {"1": {"pagination": {"cursor_path": ["cursor pagination needs cursor_path ..."]}}}}``.
"""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from rest_framework import serializers

from connectors.mapping import (
    MappingConfigError,
    error_lines,
    known_model,
    path_problem,
    required_targets,
    validate_field_mappings,
)

AUTH_TYPES = ("none", "api_key", "bearer", "basic", "oauth2")
PAGINATION_STYLES = ("none", "page", "offset", "cursor", "link")
# The credential each auth type needs (credentials are secret: encrypted, masked, never logged).
AUTH_SECRET = {"api_key": "api_key", "bearer": "token", "basic": "password", "oauth2": "client_secret"}
STREAM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
PARAM_NAME = re.compile(r"^[A-Za-z0-9_.\[\]-]{1,100}$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,100}$")
MAX_STREAMS = 50
MAX_PAGE_SIZE = 1000


def _shown(*values: str) -> dict[str, Any]:
    """The console shows an input only for these auth types / pagination styles (a rendering hint)."""
    return {"shown_for": {"type" if values[0] in AUTH_TYPES else "style": list(values)}}


def record_model_choices() -> list[tuple[str, str]]:
    """The record models a stream may write, for the console's select."""
    return [(m._meta.label, f"{m._meta.verbose_name_plural} ({m._meta.label})")
            for m in apps.get_app_config("records").get_models() if known_model(m._meta.label)]


class RestCredentials(serializers.Serializer):
    api_key = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True,
                                    help_text="auth type api_key: the key (sent in the header or query "
                                              "parameter the auth config names).")
    token = serializers.CharField(max_length=4000, required=False, allow_blank=True, write_only=True,
                                  help_text="auth type bearer: the static bearer token.")
    password = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True,
                                     help_text="auth type basic: the password (the username is in the config).")
    client_secret = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True,
                                          help_text="auth type oauth2: the client secret (client credentials grant).")


class AuthSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=AUTH_TYPES, default="none")
    name = serializers.CharField(max_length=100, required=False, default="X-API-Key", style=_shown("api_key"),
                                 help_text="api_key: the header or query parameter that carries the key.")
    # "in" is a Python keyword: declared below under its JSON name.
    username = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                     style=_shown("basic"))
    token_url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                      style=_shown("oauth2"),
                                      help_text="oauth2: the token endpoint, absolute or relative to the base URL.")
    client_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                      style=_shown("oauth2"))
    scopes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                   style=_shown("oauth2"),
                                   help_text="oauth2: space-separated scopes (empty: none asked).")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["in"] = serializers.ChoiceField(choices=("header", "query"), default="header", style=_shown("api_key"))
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["type"]
        if kind == "api_key":
            pattern = HEADER_NAME if attrs["in"] == "header" else PARAM_NAME
            if not pattern.match(attrs.get("name") or ""):
                raise serializers.ValidationError({"name": f"not a valid {attrs['in']} name"})
        if kind == "basic" and not attrs.get("username"):
            raise serializers.ValidationError({"username": "basic auth needs a username"})
        if kind == "oauth2":
            missing = {k: f"oauth2 needs {k}" for k in ("token_url", "client_id") if not attrs.get(k)}
            if missing:
                raise serializers.ValidationError(missing)
            url = attrs["token_url"]
            if not (url.startswith(("http://", "https://", "/"))):
                raise serializers.ValidationError({"token_url": "an http(s) URL, or a path from the base URL"})
        return attrs


class PaginationSerializer(serializers.Serializer):
    style = serializers.ChoiceField(choices=PAGINATION_STYLES, default="none",
                                    help_text="none: one request; page: page number; offset: offset/limit; "
                                              "cursor: the next cursor from the body; link: the Link header's next.")
    page_param = serializers.CharField(max_length=100, default="page", style=_shown("page"))
    first_page = serializers.IntegerField(min_value=0, max_value=1, default=1, style=_shown("page"))
    size_param = serializers.CharField(max_length=100, default="per_page", allow_blank=True,
                                       style=_shown("page", "cursor", "link"))
    size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=100,
                                    style=_shown("page", "offset", "cursor", "link"))
    offset_param = serializers.CharField(max_length=100, default="offset", style=_shown("offset"))
    limit_param = serializers.CharField(max_length=100, default="limit", style=_shown("offset"))
    cursor_param = serializers.CharField(max_length=100, default="cursor", style=_shown("cursor"))
    cursor_path = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                        style=_shown("cursor"),
                                        help_text="cursor: where the next cursor is in the answer, e.g. meta.next.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        style = attrs["style"]
        used = {"page": ("page_param", "size_param"), "offset": ("offset_param", "limit_param"),
                "cursor": ("cursor_param", "size_param"), "link": ("size_param",)}.get(style, ())
        errors = {key: "not a valid query parameter name" for key in used
                  if attrs.get(key) and not PARAM_NAME.match(attrs[key])}
        if style == "cursor":
            problem = path_problem(attrs.get("cursor_path"))
            if problem:
                errors["cursor_path"] = f"cursor pagination needs cursor_path (where the next cursor is): {problem}"
        for key in ("page_param", "offset_param", "limit_param", "cursor_param"):
            if key in used and not attrs.get(key):
                errors[key] = f"{style} pagination needs {key}"
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class IncrementalSerializer(serializers.Serializer):
    param = serializers.CharField(max_length=100, help_text="The query parameter that asks for changes since a value.")
    field = serializers.CharField(max_length=200, help_text="The record's field (a dotted path) the next run's "
                                                            "value is read from, e.g. updated_at.")

    def validate_param(self, value: str) -> str:
        if not PARAM_NAME.match(value):
            raise serializers.ValidationError("not a valid query parameter name")
        return value

    def validate_field(self, value: str) -> str:
        problem = path_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class StreamSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50, help_text="Lower-case letters, digits, - and _.")
    path = serializers.CharField(max_length=500, help_text="The list endpoint, relative to the base URL: /products.")
    model = serializers.CharField(max_length=100, help_text="The record type, e.g. records.Product.",
                                  style={"choices": record_model_choices})
    records_path = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                         help_text="Where the records are in the answer (data.items); "
                                                   "empty: the answer is the list.")
    id_path = serializers.CharField(max_length=200, default="id", help_text="The record's id (a dotted path).")
    params = serializers.DictField(child=serializers.CharField(max_length=500, allow_blank=True), required=False,
                                   default=dict, help_text="Fixed query parameters sent with every request.")
    pagination = PaginationSerializer(required=False)
    incremental = IncrementalSerializer(required=False, allow_null=True, default=None)
    depends_on = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list,
                                       max_length=MAX_STREAMS)

    def validate_name(self, value: str) -> str:
        if not STREAM_NAME.match(value):
            raise serializers.ValidationError("lower-case letters, digits, - and _, starting with a letter or digit")
        return value

    def validate_path(self, value: str) -> str:
        # Relative only: the credentials go to the integration's base URL and nowhere else.
        if not value.startswith("/") or value.startswith("//") or "://" in value or "?" in value or "#" in value:
            raise serializers.ValidationError("a path from the base URL, starting with / (query parameters "
                                              "go in params)")
        return value

    def validate_model(self, value: str) -> str:
        if not known_model(value):
            raise serializers.ValidationError(f"{value!r} is not a record model (e.g. records.Product)")
        return value

    def validate_records_path(self, value: str) -> str:
        problem = path_problem(value) if value else None
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_id_path(self, value: str) -> str:
        problem = path_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_params(self, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not PARAM_NAME.match(k)]
        if bad:
            raise serializers.ValidationError(f"not valid query parameter names: {', '.join(map(repr, bad[:5]))}")
        return value


class RestConfig(serializers.Serializer):
    # style: the console edits these as a group of inputs / a list of cards (integrations.schema_form).
    auth = serializers.JSONField(required=False, default=dict, style={"form": AuthSerializer},
                                 help_text='{"type": "none|api_key|bearer|basic|oauth2", "name", "in": '
                                           '"header|query", "username", "token_url", "client_id", "scopes"}')
    streams = serializers.JSONField(style={"form": StreamSerializer, "many": True},
                                    help_text='[{"name", "path", "model", "records_path", "id_path", "pagination": '
                                              '{"style": "none|page|offset|cursor|link", ...}, "incremental": '
                                              '{"param", "field"}}]')
    prefetch = serializers.BooleanField(default=True, help_text="Read and map the next page while the current one "
                                                                "is written (one reader thread per sync).")
    field_mappings = serializers.JSONField(required=False, default=dict,
                                           help_text='{"<stream>": [{"target", "source", "transforms", "ref"}]}: '
                                                     "each stream's fields (see connectors/mapping.py).")

    def validate_auth(self, value: Any) -> dict[str, Any]:
        ser = AuthSerializer(data=value if value is not None else {})
        if not isinstance(value, dict | None):
            raise serializers.ValidationError("must be an object")
        ser.is_valid(raise_exception=True)
        return dict(ser.validated_data)

    def validate_streams(self, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not value:
            raise serializers.ValidationError("must be a non-empty list of streams")
        if len(value) > MAX_STREAMS:
            raise serializers.ValidationError(f"at most {MAX_STREAMS} streams")
        ser = StreamSerializer(data=value, many=True)
        ser.is_valid(raise_exception=True)
        streams = []
        for item in ser.validated_data:
            stream = dict(item)
            stream["pagination"] = dict(stream.get("pagination") or _defaults(PaginationSerializer))
            stream["incremental"] = dict(stream["incremental"]) if stream.get("incremental") else None
            streams.append(stream)
        names = [s["name"] for s in streams]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise serializers.ValidationError(f"stream names must be unique: {', '.join(duplicates)}")
        errors: dict[str, Any] = {}
        for index, stream in enumerate(streams):
            unknown = [d for d in stream["depends_on"] if d not in names or d == stream["name"]]
            if unknown:
                errors[str(index)] = {"depends_on": f"not other streams of this integration: {', '.join(unknown)}"}
        if errors:
            raise serializers.ValidationError(errors)
        _check_cycles(streams)
        return streams

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        streams = attrs["streams"]
        models = {s["name"]: s["model"] for s in streams}
        try:
            mappings = validate_field_mappings(attrs.get("field_mappings") or {}, models)
        except MappingConfigError as exc:
            raise serializers.ValidationError({"field_mappings": error_lines(exc.errors)}) from None
        missing: dict[str, list[str]] = {}
        for stream in streams:
            given = {e["target"] for e in mappings.get(stream["name"], [])}
            need = [t for t in required_targets(stream["model"]) if t not in given]
            if need:
                missing[stream["name"]] = [f"the mapping of stream {stream['name']!r} must give "
                                           f"{', '.join(need)} (required fields of {stream['model']})"]
        if missing:
            raise serializers.ValidationError({"field_mappings": missing})
        attrs["field_mappings"] = mappings
        attrs["auth"] = attrs.get("auth") or _defaults(AuthSerializer)
        return attrs


def _defaults(cls: type[serializers.Serializer]) -> dict[str, Any]:
    ser = cls(data={})
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


def _check_cycles(streams: list[dict[str, Any]]) -> None:
    deps = {s["name"]: s["depends_on"] for s in streams}
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            cycle = " -> ".join((*trail, name))
            raise serializers.ValidationError(f"streams depend on each other in a cycle: {cycle}")
        if name in done:
            return
        for dep in deps[name]:
            visit(dep, trail + (name,))
        done.add(name)

    for name in deps:
        visit(name, ())
