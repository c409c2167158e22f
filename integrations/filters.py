"""Filters shared by the API's list views: every list's FilterSet derives from ``HubFilterSet``."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db import models
from django_filters.fields import IsoDateTimeField
from django_filters.filterset import FilterSetMetaclass
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import get_model_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, answered in UTC.

    Python accepts UTC offsets up to ±23:59, PostgreSQL only up to ±15:59: passed on as sent,
    ``2025-01-01T00:00+23:00`` made the query fail (a 500). In UTC the database never sees an
    offset; an instant outside the years 1-9999 once in UTC is an invalid value (a 400).
    """

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


# Ids and counts are 64-bit integers in both databases: SQLite raises OverflowError on anything
# larger (a 500), and a decimal like ``-2.5e+271`` or ``1.5`` is no id at all.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class BigIntegerField(forms.IntegerField):
    """A whole number a 64-bit column can hold; anything else is an invalid value (a 400)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", BIGINT_MIN)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)


_INTEGER_FIELDS = (models.IntegerField, models.AutoField, models.ForeignKey)


class HubFilterSetMetaclass(FilterSetMetaclass):
    """Every NumberFilter on an integer column (declared or generated from ``Meta.fields``) reads its
    value as a bounded integer, so no filter of any list can send the database a number it cannot hold."""

    def __new__(mcs, name, bases, attrs):
        new_class = super().__new__(mcs, name, bases, attrs)
        model = new_class._meta.model
        for filter_ in new_class.base_filters.values():
            if not isinstance(filter_, django_filters.NumberFilter) or model is None or filter_.method:
                continue
            target = get_model_field(model, filter_.field_name)
            if isinstance(target, _INTEGER_FIELDS):
                filter_.field_class = BigIntegerField
        return new_class


class HubFilterSet(django_filters.FilterSet, metaclass=HubFilterSetMetaclass):
    """The base of every list's filters (see the metaclass)."""


class HubFilterBackend(DjangoFilterBackend):
    """Views that only name ``filterset_fields`` get a HubFilterSet too."""

    filterset_base = HubFilterSet


class HubOrderingFilter(OrderingFilter):
    """An ``ordering`` naming a field the view does not offer is a 400, not silently ignored."""

    def remove_invalid_fields(self, queryset, fields, view, request) -> list[str]:
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        invalid = [term for term in fields if term and term not in valid]
        if invalid:
            offered = sorted(name for name, _ in self.get_valid_fields(queryset, view, {"request": request}))
            raise ValidationError({self.ordering_param: [f"Unknown ordering {', '.join(invalid)!r}; one of: "
                                                         f"{', '.join(offered)} (prefix '-' to reverse)."]})
        return valid
