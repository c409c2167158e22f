"""What a Twilio Programmable Messaging integration stores: its credentials and its config (validated on save)."""

from __future__ import annotations

from rest_framework import serializers

from connectors.sms import SmsConfig


class TwilioCredentials(serializers.Serializer):
    account_sid = serializers.RegexField(r"^AC[0-9a-zA-Z]{8,64}$")
    auth_token = serializers.CharField(max_length=200)


class TwilioConfig(SmsConfig):
    messaging_service_sid = serializers.CharField(required=False, allow_blank=True, max_length=64)
