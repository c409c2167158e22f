"""What a Mailgun integration stores: its credentials and its config (validated on save)."""

from __future__ import annotations

from rest_framework import serializers

from connectors.email import EspConfig


class MailgunCredentials(serializers.Serializer):
    api_key = serializers.CharField(max_length=500)


class MailgunConfig(EspConfig):
    sender_domain = serializers.CharField(required=False, allow_blank=True, max_length=255,
                                          help_text="Defaults to the from_email's domain.")
