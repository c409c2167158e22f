"""What a user enters to connect an iiko server: credentials (secret) and sync options."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rest_framework import serializers


class IikoCredentials(serializers.Serializer):
    login = serializers.CharField(max_length=100, help_text="An iikoOffice user with the API rights (e.g. B_EN).")
    password = serializers.CharField(
        max_length=200, write_only=True, trim_whitespace=False, style={"input_type": "password"},
        help_text="The user's password as typed; the hub sends its SHA-1 hex, as iiko expects (no prefix).",
    )


class IikoConfig(serializers.Serializer):
    page_size = serializers.IntegerField(min_value=10, max_value=5000, default=1000,
                                         help_text="Records written and checkpointed per page.")
    invoice_window_days = serializers.IntegerField(min_value=1, max_value=31, default=7,
                                                   help_text="Days per incoming-invoice request (iiko: at most a "
                                                             "month, ideally a day or a week).")
    invoice_history_days = serializers.IntegerField(min_value=1, max_value=3660, default=30,
                                                    help_text="How far back the first (or a full) invoice sync reads.")
    invoice_overlap_days = serializers.IntegerField(min_value=0, max_value=31, default=1,
                                                    help_text="Days re-read before the last window (late entries).")
    timezone = serializers.CharField(max_length=64, default="UTC",
                                     help_text="The iiko server's time zone (its dates carry none).")
    currency = serializers.CharField(max_length=3, default="RUB")

    def validate_timezone(self, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise serializers.ValidationError("Not a known time zone, e.g. Europe/Moscow.") from None
        return value
