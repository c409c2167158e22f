"""Click integration fields: credentials (secret) and config."""

from __future__ import annotations

from rest_framework import serializers


class ClickCredentials(serializers.Serializer):
    service_id = serializers.CharField(max_length=32)
    merchant_id = serializers.CharField(max_length=32)
    secret_key = serializers.CharField(max_length=256, help_text="SECRET_KEY: signs Click's sign_string (MD5).")
    merchant_user_id = serializers.CharField(max_length=32, required=False, allow_blank=True)


class ClickConfig(serializers.Serializer):
    test_mode = serializers.BooleanField(default=False, required=False)
    return_url = serializers.URLField(required=False, allow_blank=True)
    pay_url = serializers.URLField(required=False, allow_blank=True, help_text="Override of my.click.uz (sandbox).")
