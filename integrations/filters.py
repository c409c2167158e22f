"""Filters shared by the API's list views."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField


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
