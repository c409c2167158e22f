"""Recipient normalisation: e-mail addresses checked by Django, phone numbers by ``phonenumbers``."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email


class InvalidRecipient(ValueError):
    pass


def normalise(channel: str, value: str, region: str | None = None) -> str:
    """The canonical form (lower-cased domain / E.164), or InvalidRecipient with the reason."""
    value = (value or "").strip()
    if channel == "email":
        try:
            validate_email(value)
        except ValidationError:
            raise InvalidRecipient(f"not an e-mail address: {value!r}") from None
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"
    region = region or settings.NOTIFICATIONS_DEFAULT_REGION or None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidRecipient(f"not a phone number: {value!r} ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidRecipient(f"not a valid phone number: {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
