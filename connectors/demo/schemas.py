"""What a user enters to connect the Demo Store: credentials (secret) and options."""

from __future__ import annotations

from rest_framework import serializers


class DemoCredentials(serializers.Serializer):
    client_id = serializers.CharField(max_length=100, help_text="The sandbox account (any name: data derive from it).")
    client_secret = serializers.CharField(
        max_length=200, write_only=True, style={"input_type": "password"},
        help_text="The account's secret (in the sandbox: the client_id followed by '-secret').",
    )


class DemoConfig(serializers.Serializer):
    page_size = serializers.IntegerField(min_value=1, max_value=100, default=100)
    price_list = serializers.CharField(max_length=50, default="retail", help_text="The list used as the price.")
    token_url = serializers.URLField(required=False, allow_blank=True, default="",
                                     help_text="Overrides <base URL>/oauth/token.")
