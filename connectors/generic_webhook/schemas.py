"""What a generic webhook integration stores: its config (the signature scheme and where ids are read)."""

from __future__ import annotations

from rest_framework import serializers

from .webhooks import SCHEME_CHOICES


class WebhookConfigSerializer(serializers.Serializer):
    signature_scheme = serializers.ChoiceField(choices=SCHEME_CHOICES, default="hmac-sha256-hex")
    signature_header = serializers.CharField(
        max_length=100, default="X-Signature", help_text="Header carrying the signature (hmac-sha256-* schemes)."
    )
    event_id_header = serializers.CharField(max_length=100, required=False, allow_blank=True)
    event_type_header = serializers.CharField(max_length=100, required=False, allow_blank=True)
    event_id_field = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="Dotted path in a JSON body, e.g. data.id."
    )
    event_type_field = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tolerance_seconds = serializers.IntegerField(min_value=1, max_value=86400, default=300)
    forward_url = serializers.URLField(
        required=False, allow_blank=True, help_text="Relay each verified delivery's raw body here (POST)."
    )
