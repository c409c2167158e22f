"""Per-field value coercion for the batch upsert: one bad value fails its row, not the batch.

A converter takes what a mapper put in ``RecordRow.fields`` and returns the value to store, or
raises ``ValueError`` with a short reason. Converters are built once per model field (a table from
the field's internal type to a factory), so the hot loop is one dict lookup and one call per value.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

Converter = Callable[[Any], Any]
MISSING = object()


def json_default(value: Any) -> Any:
    """JSON for the types mappers commonly hand over (money as a string keeps its precision)."""
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# Stable text for hashing: sorted keys, no whitespace, non-ASCII kept as is. One encoder, built once.
# NaN/Infinity are refused: they are not JSON, and jsonb would reject the whole COPY for one of them.
canonical_json: Callable[[Any], str] = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=json_default
).encode


def _check_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL: one such value would abort the whole COPY.
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


def _char(field: models.Field) -> Converter:
    limit = field.max_length
    allowed = frozenset(str(value) for value, _ in field.flatchoices) if field.choices else None

    def convert(value: Any) -> str | None:
        if value is None or value == "":
            return None if allowed is not None else ""  # a choice left empty takes the default
        if type(value) is not str:
            value = str(value)
        if limit is not None and len(value) > limit:
            raise ValueError(f"longer than {limit} characters")
        if allowed is not None and value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(sorted(allowed))}")
        return _check_text(value)

    return convert


def _decimal(field: models.DecimalField) -> Converter:
    quantum = Decimal(1).scaleb(-field.decimal_places)
    int_digits = field.max_digits - field.decimal_places
    # By exact type: bool is an int, and a float goes through its shortest repr (0.1 -> "0.1").
    parse = {str: Decimal, int: Decimal, Decimal: lambda v: v, float: lambda v: Decimal(repr(v))}

    def convert(value: Any) -> Decimal | None:
        if value is None or value == "":
            return None
        parser = parse.get(type(value))
        if parser is None:
            if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
                raise ValueError("is not a number")
            parser = Decimal  # a subclass (an IntEnum, a lazy string)
        try:
            number = parser(value)
            if not number.is_finite():
                raise ValueError("is not a finite number")
            # numeric(p, s) would round silently anyway; round here so the stored value is the one we report.
            number = number.quantize(quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise ValueError("is not a valid number") from None
        if number and number.adjusted() >= int_digits:
            raise ValueError(f"has more than {int_digits} digits before the decimal point")
        return number

    return convert


def _integer(low: int, high: int) -> Callable[[models.Field], Converter]:
    def factory(field: models.Field) -> Converter:
        def convert(value: Any) -> int | None:
            if value is None or value == "":
                return None
            if isinstance(value, bool):
                raise ValueError("is not an integer")
            try:
                number = int(value) if not isinstance(value, float) or value.is_integer() else None
            except (TypeError, ValueError):
                number = None
            if number is None:
                raise ValueError("is not an integer")
            if not low <= number <= high:
                raise ValueError(f"is out of range {low}..{high}")
            return number

        return convert

    return factory


TRUE_WORDS = {"true", "1", "yes", "y", "t", "on"}
FALSE_WORDS = {"false", "0", "no", "n", "f", "off", ""}


def _boolean(field: models.Field) -> Converter:
    def convert(value: Any) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return bool(value)
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError("is not a boolean")

    return convert


def _datetime(field: models.Field) -> Converter:
    def convert(value: Any) -> dt.datetime | None:
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            parsed = value
        elif isinstance(value, dt.date):
            parsed = dt.datetime.combine(value, dt.time())
        elif isinstance(value, int | float) and not isinstance(value, bool):
            parsed = dt.datetime.fromtimestamp(value, tz=dt.UTC)
        else:
            text = str(value).strip()
            try:
                parsed = parse_datetime(text)
                if parsed is None and (day := parse_date(text)) is not None:
                    parsed = dt.datetime.combine(day, dt.time())
            except ValueError:
                parsed = None
            if parsed is None:
                raise ValueError("is not a valid date-time")
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed

    return convert


def _date(field: models.Field) -> Converter:
    def convert(value: Any) -> dt.date | None:
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            parsed = parse_date(str(value).strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValueError("is not a valid date")
        return parsed

    return convert


def json_text(value: Any) -> str:
    """JSON text to store (converters of JSON fields return text: COPY sends it as is)."""
    try:
        text = canonical_json(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"is not JSON: {exc}") from None
    # jsonb refuses \u0000 as well.
    if "\\u0000" in text:
        raise ValueError("contains a NUL character")
    return text


def _json(field: models.Field) -> Converter:
    def convert(value: Any) -> str | None:
        return None if value is None else json_text(value)

    return convert


def _text(field: models.Field) -> Converter:
    def convert(value: Any) -> str:
        if value is None:
            return ""
        return _check_text(value if type(value) is str else str(value))

    return convert


CONVERTERS: dict[str, Callable[[Any], Converter]] = {
    "CharField": _char,
    "SlugField": _char,
    "EmailField": _char,
    "URLField": _char,
    "TextField": _text,
    "DecimalField": _decimal,
    "IntegerField": _integer(-(2**31), 2**31 - 1),
    "BigIntegerField": _integer(-(2**63), 2**63 - 1),
    "SmallIntegerField": _integer(-(2**15), 2**15 - 1),
    "PositiveIntegerField": _integer(0, 2**31 - 1),
    "PositiveBigIntegerField": _integer(0, 2**63 - 1),
    "PositiveSmallIntegerField": _integer(0, 2**15 - 1),
    "BooleanField": _boolean,
    "DateTimeField": _datetime,
    "DateField": _date,
    "JSONField": _json,
}


def missing_value(field: models.Field) -> Any:
    """What a row that does not give ``field`` stores; ``MISSING``: the row fails ("is required")."""
    if field.has_default():
        default = field.get_default()
        return json_text(default) if field.get_internal_type() == "JSONField" else default
    if field.null:
        return None
    if CONVERTERS.get(field.get_internal_type()) in (_char, _text):
        return ""
    return MISSING


def field_converter(field: models.Field) -> Converter:
    """The converter for ``field``: the type's own, plus what a given null means."""
    factory = CONVERTERS.get(field.get_internal_type())
    if factory is None:
        raise TypeError(f"no converter for {field.get_internal_type()} ({field.name})")
    convert = factory(field)
    if field.null or (factory in (_char, _text) and not field.choices):  # null stays null; text: ""
        return convert
    # A provider's null for a field with a default (quantity 0, active True) means the default.
    fallback = missing_value(field)

    def converter(value: Any) -> Any:
        result = convert(value)
        if result is None:
            if fallback is MISSING:
                raise ValueError("is required")
            return fallback
        return result

    return converter
