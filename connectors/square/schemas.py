"""Square integration fields. The subscription's signature key is the integration's ``webhook_secret``."""

from __future__ import annotations

from rest_framework import serializers


class SquareCredentials(serializers.Serializer):
    access_token = serializers.RegexField(r"^[A-Za-z0-9_\-]{20,200}$", max_length=200,
                                          help_text="Access token (personal or OAuth), sent as Bearer.")


class SquareConfig(serializers.Serializer):
    location_id = serializers.RegexField(r"^[A-Za-z0-9]{4,32}$", help_text="The location that takes the payments.")
    environment = serializers.ChoiceField(choices=[("production", "Production"), ("sandbox", "Square Sandbox")],
                                          default="production", required=False)
    autocomplete = serializers.BooleanField(
        default=True, required=False,
        help_text="Complete (capture) card payments at once; off: they stay approved until completed at Square.")
    notification_url = serializers.URLField(
        required=False, allow_blank=True, max_length=500,
        help_text="The notification URL exactly as registered in the webhook subscription (it is signed); "
                  "default: this integration's callback URL.")
