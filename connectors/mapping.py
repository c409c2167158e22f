"""Field mappings as data: source path -> record field, with a small set of transforms.

Staff store them per integration in ``config["field_mappings"]`` (``{"<stream>": [entry, ...]}``); the
sync runner applies a stream's entries after the stream's own ``map`` (``mapped_stream``), so a
built-in provider's stream gets an overridden or added field without code, and the generic REST
connector is configured with nothing else. An entry::

    {"target": "price", "source": "price_cents", "transforms": [{"op": "minor_to_major", "exponent": 2}]}
    {"target": "name", "source": ["first", "last"], "transforms": [{"op": "join", "sep": " "}]}
    {"target": "category", "source": "cat.id", "ref": true}   # another record, by its external id

``source`` is a dotted path into the raw record (``items.0.id`` indexes a list), or a list of paths
for ``join``; it may be left out when a ``default`` transform gives the value. Transforms run in
order; a missing source value is None, which every transform but ``default``/``lookup`` passes on.
``validate_mapping`` is the one gate (API, console, runner): it returns the entries normalised, or
raises ``MappingConfigError`` with one ``{"index", "field", "message"}`` per problem.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from records.rows import RecordRow
from records.upsert import plan_for, resolve_model

from .errors import ConfigError, MappingError

if TYPE_CHECKING:
    from .base import Stream

MAPPINGS_KEY = "field_mappings"  # the integration.config key
MAX_ENTRIES = 200
MAX_PATH = 200
MAX_LOOKUP = 1000
MISSING = object()


class MappingConfigError(ValueError):
    """A mapping that cannot be saved; ``errors``: ``[{"index": int | None, "field": str, "message": str}]``."""

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        super().__init__("; ".join(
            (f"entry {e['index']}: " if e["index"] is not None else "") + f"{e['field']}: {e['message']}"
            for e in errors
        ))


# --- what can be mapped ------------------------------------------------------------------------
_TYPE_WORDS: tuple[tuple[type[models.Field], str], ...] = (
    (models.ForeignKey, "ref"),
    (models.BooleanField, "boolean"),
    (models.DecimalField, "decimal"),
    (models.FloatField, "number"),
    (models.IntegerField, "integer"),  # Positive*/Big*/Small* are subclasses
    (models.DateTimeField, "datetime"),  # before DateField: it is a subclass
    (models.DateField, "date"),
    (models.JSONField, "json"),
    (models.CharField, "text"),
    (models.TextField, "text"),
)


def _type_word(field: models.Field) -> str:
    for cls, word in _TYPE_WORDS:
        if isinstance(field, cls):
            return word
    return "text"


def targets_for(model_label: str) -> dict[str, str]:
    """The fields and references of a record model a mapping may target, with a type word each
    (text, integer, number, decimal, boolean, date, datetime, json, ref). Raises LookupError/TypeError
    for a label that is not a synced record model."""
    plan = plan_for(resolve_model(model_label))
    targets = {f.name: _type_word(f) for f in plan.data}
    targets.update({name: "ref" for name in plan.refs})
    return targets


def required_targets(model_label: str) -> list[str]:
    """Fields a record of the model must have (no default, or text that may not be blank): a mapping
    that builds whole records (the generic REST connector) must give them."""
    plan = plan_for(resolve_model(model_label))
    return sorted(plan.required | {f.name for f in plan.data if not f.blank and not f.has_default()})


# --- paths ---------------------------------------------------------------------------------------
def get_path(data: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted ``path`` (``a.b.0.c``) in parsed JSON, or ``default`` when absent.
    An empty path is the data itself."""
    value = data
    if not path:
        return value
    for part in path.split("."):
        if isinstance(value, dict):
            if part not in value:
                return default
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(value) <= index < len(value):
                return default
            value = value[index]
        else:
            return default
    return value


def path_problem(path: Any) -> str | None:
    """Why ``path`` is not a usable dotted path, or None."""
    if not isinstance(path, str) or not path.strip():
        return "must be a non-empty dotted path, e.g. data.items or price.amount"
    if len(path) > MAX_PATH:
        return f"is longer than {MAX_PATH} characters"
    if any(not part for part in path.split(".")):
        return f"{path!r} has an empty segment (two dots, or a dot at an end)"
    return None


# --- transforms -----------------------------------------------------------------------------------
def _t_number(value: Any, _: dict) -> Any:
    if value is None or isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a finite number")
        return number
    raise ValueError(f"{value!r} is not a number")


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(" ", ""))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    else:
        raise ValueError(f"{value!r} is not a decimal number")
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _t_decimal(value: Any, spec: dict) -> Any:
    if value is None:
        return None
    number = _to_decimal(value)
    places = spec.get("places")
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return number


def _t_date(value: Any, spec: dict) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    fmt = spec.get("format")
    try:
        if fmt:
            return dt.datetime.strptime(value.strip(), fmt).date()
        parsed = parse_date(value.strip())
        if parsed is None:
            stamp = parse_datetime(value.strip())
            if stamp is None:
                raise ValueError
            return stamp.date()
        return parsed
    except ValueError:
        raise ValueError(f"{value!r} is not a date" + (f" in the format {fmt!r}" if fmt else " (ISO 8601)")) from None


def _t_datetime(value: Any, spec: dict) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):  # Unix seconds
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{value!r} is not a Unix time") from None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date-time")
    fmt = spec.get("format")
    try:
        stamp = dt.datetime.strptime(value.strip(), fmt) if fmt else parse_datetime(value.strip())
        if stamp is None:
            day = parse_date(value.strip())
            if day is None:
                raise ValueError
            stamp = dt.datetime.combine(day, dt.time())
    except ValueError:
        raise ValueError(f"{value!r} is not a date-time" + (f" in the format {fmt!r}" if fmt else " (ISO 8601)")) \
            from None
    return stamp if timezone.is_aware(stamp) else stamp.replace(tzinfo=dt.UTC)  # naive: read as UTC


def _t_default(value: Any, spec: dict) -> Any:
    return spec["value"] if value is None or value == "" else value


def _lookup_key(value: Any) -> str:
    """The table key a source value matches: text as is, numbers as written, true/false/null as in JSON."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def _t_lookup(value: Any, spec: dict) -> Any:
    key = _lookup_key(value)
    if key in spec["table"]:
        return spec["table"][key]
    if "default" in spec:
        return spec["default"]
    if value is None:
        return None
    raise ValueError(f"{value!r} is not in the lookup table (and it has no default)")


def _t_join(value: Any, spec: dict) -> Any:
    if value is None:
        return None
    parts = value if isinstance(value, list) else [value]
    return spec["sep"].join(str(p) for p in parts if p is not None and p != "")


def _t_minor_to_major(value: Any, spec: dict) -> Any:
    if value is None or value == "":
        return None
    return _to_decimal(value).scaleb(-spec["exponent"])


def _t_major_to_minor(value: Any, spec: dict) -> Any:
    if value is None or value == "":
        return None
    return int(_to_decimal(value).scaleb(spec["exponent"]).to_integral_value(rounding=ROUND_HALF_UP))


def _t_string(value: Any, _: dict) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _text_op(method: str) -> Callable[[Any, dict], Any]:
    def op(value: Any, _: dict) -> Any:
        if value is None:
            return None
        return getattr(value if isinstance(value, str) else _t_string(value, {}), method)()
    return op


# op -> (function, {parameter: (validator -> error message or None, required?, default)})
def _is_int_between(low: int, high: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int) and not isinstance(v, bool) and low <= v <= high
        return None if ok else f"must be a whole number from {low} to {high}"
    return check


def _is_short_text(limit: int, empty: bool = True) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not isinstance(v, str) or len(v) > limit or (not empty and not v):
            return f"must be {'a' if empty else 'a non-empty'} text of at most {limit} characters"
        return None
    return check


def _is_json_scalar(v: Any) -> str | None:
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return "must be a finite number"
    if v is None or isinstance(v, str | int | float | bool):
        return None
    return "must be text, a number, true/false or null"


def _is_table(v: Any) -> str | None:
    if not isinstance(v, dict) or not v:
        return "must be a non-empty object of source value -> our value"
    if len(v) > MAX_LOOKUP:
        return f"has more than {MAX_LOOKUP} entries"
    for key, item in v.items():
        problem = _is_json_scalar(item)
        if problem:
            return f"value for {key!r} {problem}"
    return None


TRANSFORMS: dict[str, tuple[Callable[[Any, dict], Any], dict[str, tuple[Callable[[Any], str | None], bool, Any]]]] = {
    "number": (_t_number, {}),
    "decimal": (_t_decimal, {"places": (_is_int_between(0, 10), False, None)}),
    "date": (_t_date, {"format": (_is_short_text(64, empty=False), False, None)}),
    "datetime": (_t_datetime, {"format": (_is_short_text(64, empty=False), False, None)}),
    "default": (_t_default, {"value": (_is_json_scalar, True, None)}),
    "lookup": (_t_lookup, {"table": (_is_table, True, None), "default": (_is_json_scalar, False, MISSING)}),
    "join": (_t_join, {"sep": (_is_short_text(20), False, " ")}),
    "minor_to_major": (_t_minor_to_major, {"exponent": (_is_int_between(0, 6), False, 2)}),
    "major_to_minor": (_t_major_to_minor, {"exponent": (_is_int_between(0, 6), False, 2)}),
    "string": (_t_string, {}),
    "lower": (_text_op("lower"), {}),
    "upper": (_text_op("upper"), {}),
    "strip": (_text_op("strip"), {}),
}


# --- validation -----------------------------------------------------------------------------------
def _validate_transforms(index: int, raw: Any, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append({"index": index, "field": "transforms", "message": "must be a list of {\"op\": ...} objects"})
        return []
    out: list[dict[str, Any]] = []
    for n, spec in enumerate(raw):
        where = f"transforms[{n}]"
        if not isinstance(spec, dict):
            errors.append({"index": index, "field": where, "message": "must be an object with an \"op\""})
            continue
        op = spec.get("op")
        if not isinstance(op, str) or op not in TRANSFORMS:
            errors.append({"index": index, "field": f"{where}.op",
                           "message": f"unknown transform {op!r}; one of: {', '.join(TRANSFORMS)}"})
            continue
        params = TRANSFORMS[op][1]
        clean: dict[str, Any] = {"op": op}
        for key in spec:
            if key != "op" and key not in params:
                errors.append({"index": index, "field": f"{where}.{key}",
                               "message": f"{op} takes no {key!r}"
                                          + (f" (it takes: {', '.join(params)})" if params else "")})
        for key, (check, required, default) in params.items():
            if key not in spec:
                if required:
                    errors.append({"index": index, "field": f"{where}.{key}", "message": f"{op} needs {key!r}"})
                elif default is not None and default is not MISSING:
                    clean[key] = default
                continue
            problem = check(spec[key])
            if problem:
                errors.append({"index": index, "field": f"{where}.{key}", "message": problem})
            else:
                clean[key] = spec[key]
        out.append(clean)
    return out


def validate_mapping(model_label: str, entries: Any) -> list[dict[str, Any]]:
    """The entries normalised (``target``, ``source``, ``transforms`` with their defaults, ``ref``), or
    ``MappingConfigError`` listing every problem (index of the entry, field, message)."""
    try:
        targets = targets_for(model_label)
    except (LookupError, TypeError, ValueError):
        raise MappingConfigError([{"index": None, "field": "model",
                                   "message": f"{model_label!r} is not a record model"}]) from None
    if not isinstance(entries, list):
        raise MappingConfigError([{"index": None, "field": "fields", "message": "must be a list of field mappings"}])
    if len(entries) > MAX_ENTRIES:
        raise MappingConfigError([{"index": None, "field": "fields",
                                   "message": f"at most {MAX_ENTRIES} field mappings per stream"}])
    errors: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            errors.append({"index": index, "field": "", "message": "must be an object with a target and a source"})
            continue
        for key in entry:
            if key not in ("target", "source", "transforms", "ref"):
                errors.append({"index": index, "field": str(key)[:50],
                               "message": "unknown key; an entry has target, source, transforms and ref"})
        target = entry.get("target")
        ref = entry.get("ref", False)
        if not isinstance(ref, bool):
            errors.append({"index": index, "field": "ref", "message": "must be true or false"})
            ref = False
        head = target.split(".", 1)[0] if isinstance(target, str) else None
        if isinstance(target, str) and "." in target and targets.get(head) == "json":
            # One key of a JSON field ("attributes.colour"): merged into what the stream itself gives.
            key = target.split(".", 1)[1]
            if not key or len(key) > 100:
                errors.append({"index": index, "field": "target", "message": "a JSON field's key is 1 to 100 "
                                                                             "characters after the dot"})
            if ref:
                errors.append({"index": index, "field": "ref", "message": "a JSON field's key is not a reference"})
            ref = False
            earlier = seen.get(target, seen.get(head))
            if earlier is not None:
                errors.append({"index": index, "field": "target",
                               "message": f"{target!r} is already mapped by entry {earlier}"})
            seen.setdefault(target, index)
            seen.setdefault(f"{head}.", index)
        elif not isinstance(target, str) or target not in targets:
            names = ", ".join(sorted(targets))
            errors.append({"index": index, "field": "target",
                           "message": f"{target!r} is not a field of {model_label}; one of: {names} "
                                      "(or a key of a json field: attributes.colour)"})
        else:
            if targets[target] == "json" and f"{target}." in seen:
                errors.append({"index": index, "field": "target", "message": f"{target!r} is already mapped by "
                                                                             f"its keys (entry {seen[target + '.']})"})
            if ref and targets[target] != "ref":
                errors.append({"index": index, "field": "ref", "message": f"{target!r} is a {targets[target]} "
                                                                           "field, not a reference to another record"})
            ref = targets[target] == "ref"  # a reference field is always set by external id
            if target in seen:
                errors.append({"index": index, "field": "target",
                               "message": f"{target!r} is already mapped by entry {seen[target]}"})
            seen.setdefault(target, index)
        transforms = _validate_transforms(index, entry.get("transforms"), errors)
        ops = [t["op"] for t in transforms]
        source = entry.get("source")
        if source is None or source == "":
            source = None
            if "default" not in ops:
                errors.append({"index": index, "field": "source",
                               "message": "is required (a dotted path), unless a default transform gives the value"})
        elif isinstance(source, list):
            if not source or len(source) > 20:
                errors.append({"index": index, "field": "source", "message": "a list of sources holds 1 to 20 paths"})
            for n, path in enumerate(source):
                problem = path_problem(path)
                if problem:
                    errors.append({"index": index, "field": f"source[{n}]", "message": problem})
            if "join" not in ops:
                errors.append({"index": index, "field": "source",
                               "message": "a list of sources needs a join transform to make one value"})
        else:
            problem = path_problem(source)
            if problem:
                errors.append({"index": index, "field": "source", "message": problem})
        out.append({"target": target, "source": source, "transforms": transforms, "ref": bool(ref)})
    if errors:
        raise MappingConfigError(errors)
    return out


# --- applying ---------------------------------------------------------------------------------------
def _describe(entry: dict[str, Any], index: int) -> str:
    return f"field mapping #{index} (target {entry['target']!r}, source {entry['source']!r})"


def _ref_value(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool | dict | list):
        raise ValueError(f"{value!r} cannot be an external id")
    return str(value)


def apply_mapping(raw: dict[str, Any], entries: list[dict[str, Any]], row: RecordRow) -> RecordRow:
    """``row`` (a copy) with each entry's field or reference set from ``raw``. ``entries`` must come
    from ``validate_mapping``. Raises MappingError naming the entry, its source and the value."""
    fields, refs = dict(row.fields), dict(row.refs)
    for index, entry in enumerate(entries):
        source = entry["source"]
        if source is None:
            value = None
        elif isinstance(source, list):
            value = [get_path(raw, path) for path in source]
        else:
            value = get_path(raw, source)
        try:
            for spec in entry["transforms"]:
                value = TRANSFORMS[spec["op"]][0](value, spec)
            if entry["ref"]:
                refs[entry["target"]] = _ref_value(value)
            else:
                if isinstance(value, list) and source is not None and isinstance(source, list):
                    raise ValueError("a list of sources gives a list; add a join transform")
                target = entry["target"]
                if "." in target:
                    name, key = target.split(".", 1)
                    current = fields.get(name)
                    fields[name] = {**(current if isinstance(current, dict) else {}), key: value}
                else:
                    fields[target] = value
        except (ValueError, TypeError, ArithmeticError, KeyError) as exc:
            raise MappingError(f"{_describe(entry, index)}: {exc}") from None
    return dataclasses.replace(row, fields=fields, refs=refs)


def fingerprint(entries: list[dict[str, Any]]) -> str:
    """A short, stable digest of a mapping: part of a mapped row's hash, so a changed mapping rewrites
    records whose source did not change."""
    text = json.dumps(entries, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def validate_field_mappings(value: Any, models_by_stream: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """A whole ``config["field_mappings"]`` (stream name -> entries) normalised, or MappingConfigError
    whose errors also name the stream (``"stream"``)."""
    if not isinstance(value, dict):
        raise MappingConfigError([{"index": None, "field": MAPPINGS_KEY,
                                   "message": "must be an object: stream name -> list of field mappings"}])
    out: dict[str, list[dict[str, Any]]] = {}
    errors: list[dict[str, Any]] = []
    for stream, entries in value.items():
        if stream not in models_by_stream:
            errors.append({"index": None, "field": MAPPINGS_KEY, "stream": str(stream)[:100],
                           "message": f"unknown stream {str(stream)[:100]!r}; "
                                      f"one of: {', '.join(models_by_stream) or 'none'}"})
            continue
        try:
            normalised = validate_mapping(models_by_stream[stream], entries)
        except MappingConfigError as exc:
            errors += [{**e, "stream": stream} for e in exc.errors]
            continue
        if normalised:
            out[stream] = normalised
    if errors:
        raise MappingConfigError(errors)
    return out


def error_lines(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """MappingConfigError entries as readable lines grouped by stream, for a config serializer's errors."""
    out: dict[str, list[str]] = {}
    for e in errors:
        where = (f"entry {e['index']}, " if e["index"] is not None else "") + (e["field"] or "entry")
        out.setdefault(e.get("stream") or MAPPINGS_KEY, []).append(f"{where}: {e['message']}")
    return out


def stream_mapping(config: dict[str, Any] | None, stream_name: str, model_label: str) -> list[dict[str, Any]] | None:
    """The validated entries stored for a stream (None when there are none). A stored mapping that no
    longer validates (edited by hand, or the model changed) is a ConfigError: the user must fix it."""
    stored = (config or {}).get(MAPPINGS_KEY)
    if not isinstance(stored, dict) or not stored.get(stream_name):
        return None
    try:
        return validate_mapping(model_label, stored[stream_name])
    except MappingConfigError as exc:
        raise ConfigError(f"the field mapping of stream {stream_name!r} is invalid: {exc}") from None


class MappedStream:
    """A stream whose ``map`` applies a field mapping after the stream's own; the rest is the stream's."""

    def __init__(self, stream: Stream, entries: list[dict[str, Any]]):
        self.stream = stream
        self.entries = entries
        self.variant = fingerprint(entries)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def map(self, raw: dict[str, Any]) -> RecordRow:
        row = apply_mapping(raw, self.entries, self.stream.map(raw))
        row.variant = f"{row.variant}+{self.variant}" if row.variant else self.variant
        return row


def mapped_stream(stream: Stream, config: dict[str, Any] | None) -> Stream:
    """``stream`` with its stored field mapping applied (the stream itself when it has none)."""
    entries = stream_mapping(config, stream.name, stream.model)
    return MappedStream(stream, entries) if entries else stream  # type: ignore[return-value]


def known_model(model_label: str) -> bool:
    try:
        resolve_model(model_label)
    except (LookupError, TypeError, ValueError, FieldDoesNotExist):
        return False
    return True
