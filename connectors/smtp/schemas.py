"""What a SMTP integration stores: its credentials and its config (validated on save)."""

from __future__ import annotations

from rest_framework import serializers


class SmtpCredentials(serializers.Serializer):
    username = serializers.CharField(required=False, allow_blank=True, max_length=200)
    password = serializers.CharField(required=False, allow_blank=True, max_length=500)


class SmtpConfig(serializers.Serializer):
    host = serializers.CharField(max_length=255)
    port = serializers.IntegerField(min_value=1, max_value=65535, default=587)
    use_tls = serializers.BooleanField(default=False, help_text="STARTTLS.")
    use_ssl = serializers.BooleanField(default=False, help_text="Implicit TLS (port 465).")
    from_email = serializers.EmailField()
    timeout = serializers.FloatField(min_value=0.1, max_value=120, default=10)
    priority = serializers.IntegerField(default=10, help_text="Lower is tried first.")
