"""What a AWS SNS SMS integration stores: its credentials and its config (validated on save)."""

from __future__ import annotations

from rest_framework import serializers

from connectors.sms import SmsConfig


class SnsCredentials(serializers.Serializer):
    access_key_id = serializers.CharField(max_length=128)
    secret_access_key = serializers.CharField(max_length=256)


class SnsConfig(SmsConfig):
    region = serializers.CharField(max_length=32, default="us-east-1")
    sms_type = serializers.ChoiceField(choices=["Transactional", "Promotional"], default="Transactional")
